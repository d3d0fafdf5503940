/**
 * The mutation fuzz loop shared by bench/fuzz.bench.ts and test/ikev2/wire/fuzz.test.ts.
 *
 * Every mutated input goes to decodeMessage (message entries) or decodePayloadChain (chain
 * entries). Outcomes: accepted, rejected with a GkmError (counted by code), or an uncaught
 * exception: any throw that is not a GkmError, which is a bug. Accepted inputs must also
 * survive re-encoding: decode(encode(decode(x))) equals decode(x) (reserved bits may
 * differ, so bytes are not compared), and then go through the second-level payload parsers
 * (payload-parsers.ts), whose rejections are counted separately.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import { GkmError } from '../../src/ikev2/errors.ts';
import { GROUP_EXCHANGE_CONTEXTS } from '../../src/ikev2/wire/group-attributes.ts';
import type { IkeHeader } from '../../src/ikev2/wire/header.ts';
import { decodeMessage, encodeMessage, type DecodedMessage } from '../../src/ikev2/wire/message.ts';
import { decodePayloadChain, encodeChain, type Payload } from '../../src/ikev2/wire/payload.ts';
import { mutate, MUTATORS, type CorpusEntry, type Mutant, type Mutator } from './mutate.ts';
import { parsePayloads } from './payload-parsers.ts';
import { Prng } from './prng.ts';

export type FailureKind = 'uncaught' | 'round-trip';

export interface FuzzFailure {
  readonly kind: FailureKind;
  /** decodeMessage, decodePayloadChain, a parser name, or the round-trip step. */
  readonly stage: string;
  /** Index of the input in this run (replay: same seed, same corpus). */
  readonly index: number;
  readonly origin: string;
  readonly ops: readonly Mutator[];
  /** For chains, the first payload type given to decodePayloadChain. */
  readonly first: number;
  readonly hex: string;
  readonly error: string;
  readonly stack: string;
}

export interface OutcomeCounts {
  inputs: number;
  accepted: number;
}

export interface FuzzStats {
  inputs: number;
  accepted: number;
  /** Decoder rejections by GkmError code. */
  readonly rejected: Map<string, number>;
  /** Throws that are not GkmError, from any stage. Must be 0. */
  uncaught: number;
  /** Accepted inputs that failed the re-encode invariant. Must be 0. */
  roundTripFailures: number;
  /** Second-level parser runs, and their rejections by code. */
  parserRuns: number;
  readonly parserRejected: Map<string, number>;
  readonly byTarget: Record<CorpusEntry['kind'], OutcomeCounts>;
  readonly byMutator: Record<Mutator, OutcomeCounts>;
  /** The first `maxRecorded` failures, with what is needed to reproduce them. */
  readonly failures: FuzzFailure[];
  elapsedMs: number;
  /** Time spent inside decodeMessage / decodePayloadChain (errors included). */
  decodeMs: number;
  /** True when the time limit stopped the run before `inputs` were fed. */
  timedOut: boolean;
}

export interface FuzzOptions {
  readonly corpus: readonly CorpusEntry[];
  readonly inputs: number;
  readonly seed: number;
  /** Stop after this long even if fewer inputs were fed. */
  readonly timeLimitMs?: number;
  /** How many failures to keep in full (default 20). */
  readonly maxRecorded?: number;
  /** Called about every `progressEvery` inputs (default 100,000). */
  readonly onProgress?: (stats: FuzzStats) => void;
  readonly progressEvery?: number;
}

const bump = (m: Map<string, number>, key: string): void => {
  m.set(key, (m.get(key) ?? 0) + 1);
};

const counts = (): OutcomeCounts => ({ inputs: 0, accepted: 0 });

export function newStats(): FuzzStats {
  return {
    inputs: 0,
    accepted: 0,
    rejected: new Map(),
    uncaught: 0,
    roundTripFailures: 0,
    parserRuns: 0,
    parserRejected: new Map(),
    byTarget: { message: counts(), chain: counts() },
    byMutator: Object.fromEntries(MUTATORS.map((m) => [m, counts()])) as Record<Mutator, OutcomeCounts>,
    failures: [],
    elapsedMs: 0,
    decodeMs: 0,
    timedOut: false,
  };
}

/** What a decoder produced: the part the round trip must preserve, and the header to re-encode with. */
interface Decoded {
  readonly payloads: readonly Payload[];
  /** Header without `length` (that may legitimately differ), or the chain's first type. */
  readonly head: unknown;
  readonly header?: IkeHeader;
}

function decodeInput(entry: CorpusEntry, m: Mutant): Decoded {
  if (entry.kind === 'message') return messageView(decodeMessage(m.bytes));
  return { payloads: decodePayloadChain(m.first, m.bytes, 'fuzz').payloads, head: m.first };
}

function messageView(d: DecodedMessage): Decoded {
  const { length: _length, ...head } = d.header;
  return { payloads: d.payloads, head, header: d.header };
}

class RoundTripMismatch extends Error {
  override readonly name = 'RoundTripMismatch';
}

/** Encode what was decoded and decode it again; throws on any difference. */
function roundTrip(d: Decoded): void {
  let again: Decoded;
  if (d.header) {
    again = messageView(decodeMessage(encodeMessage({ header: d.header, payloads: d.payloads })));
  } else {
    const { first, bytes } = encodeChain(d.payloads);
    // An empty chain encodes as first = NONE whatever type was given.
    again = { payloads: decodePayloadChain(first, bytes, 'fuzz').payloads, head: d.payloads.length === 0 ? d.head : first };
  }
  if (!isDeepStrictEqual(again.head, d.head) || !isDeepStrictEqual(again.payloads, d.payloads)) {
    const show = (x: Decoded): string => inspect({ head: x.head, payloads: x.payloads }, { depth: 8, breakLength: Infinity }).slice(0, 4000);
    throw new RoundTripMismatch(`re-encoded input decodes to a different value\n  first:  ${show(d)}\n  again:  ${show(again)}`);
  }
}

const describe = (e: unknown): { error: string; stack: string } =>
  e instanceof Error ? { error: `${e.name}: ${e.message}`, stack: e.stack ?? '' } : { error: String(e), stack: '' };

/** Picks corpus entries in proportion to their weights. */
function weightedPicker(corpus: readonly CorpusEntry[]): (rng: Prng) => CorpusEntry {
  const cumulative: number[] = [];
  let total = 0;
  for (const e of corpus) cumulative.push((total += e.weight));
  return (rng) => {
    const x = (rng.u32() / 0x1_0000_0000) * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return corpus[lo]!;
  };
}

/** Run the fuzzer; deterministic for a given corpus, seed and input count. */
export function runFuzz(opts: FuzzOptions): FuzzStats {
  const { corpus, seed } = opts;
  if (corpus.length === 0) throw new RangeError('empty corpus');
  const rng = new Prng(seed);
  const pick = weightedPicker(corpus);
  const stats = newStats();
  const maxRecorded = opts.maxRecorded ?? 20;
  const progressEvery = opts.progressEvery ?? 100_000;
  const deadline = opts.timeLimitMs === undefined ? Infinity : performance.now() + opts.timeLimitMs;
  const start = performance.now();

  for (let i = 0; i < opts.inputs; i++) {
    if ((i & 1023) === 0 && performance.now() > deadline) {
      stats.timedOut = true;
      break;
    }
    if (opts.onProgress && i > 0 && i % progressEvery === 0) {
      stats.elapsedMs = performance.now() - start;
      opts.onProgress(stats);
    }
    const entry = pick(rng);
    const m = mutate(entry, corpus, rng);
    const record = (kind: FailureKind, stage: string, e: unknown): void => {
      if (kind === 'uncaught') stats.uncaught++;
      else stats.roundTripFailures++;
      if (stats.failures.length < maxRecorded) {
        stats.failures.push({ kind, stage, index: i, origin: entry.origin, ops: m.ops, first: m.first, hex: m.bytes.toString('hex'), ...describe(e) });
      }
    };
    stats.inputs++;
    stats.byTarget[entry.kind].inputs++;
    for (const op of new Set(m.ops)) stats.byMutator[op].inputs++;

    let decoded: Decoded;
    const t = performance.now();
    try {
      decoded = decodeInput(entry, m);
    } catch (e) {
      stats.decodeMs += performance.now() - t;
      if (e instanceof GkmError) bump(stats.rejected, e.code);
      else record('uncaught', entry.kind === 'message' ? 'decodeMessage' : 'decodePayloadChain', e);
      continue;
    }
    stats.decodeMs += performance.now() - t;
    stats.accepted++;
    stats.byTarget[entry.kind].accepted++;
    for (const op of new Set(m.ops)) stats.byMutator[op].accepted++;

    try {
      roundTrip(decoded);
    } catch (e) {
      // A GkmError here means the encoder refused what the decoder accepted: also a round-trip failure.
      record(e instanceof GkmError || e instanceof RoundTripMismatch ? 'round-trip' : 'uncaught', 'round-trip', e);
    }

    parsePayloads(decoded.payloads, rng.pick(GROUP_EXCHANGE_CONTEXTS), (name, fn) => {
      stats.parserRuns++;
      try {
        fn();
      } catch (e) {
        if (e instanceof GkmError) bump(stats.parserRejected, e.code);
        else record('uncaught', name, e);
      }
    });

  }
  stats.elapsedMs = performance.now() - start;
  return stats;
}
