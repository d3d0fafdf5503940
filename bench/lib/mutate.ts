/**
 * Mutations of valid encoded messages and payload chains, shared by the fuzz benchmark and
 * the fuzz test. Each mutated input applies one to three operators, picked from:
 * bit flips, bytes set to 0x00 / 0xff / random, tweaks of known length / count / type fields
 * (see wire-fields.ts), truncation, insertion and deletion of random bytes, and splicing with
 * another corpus entry. Half of the insertions and deletions are "consistent": every length
 * field whose span covers the change is adjusted, so the damage reaches the inner decoders.
 * Half of the splices join two chains at payload boundaries (fixing the Next Payload octet),
 * the others at random offsets. After any other size change, a message's IKE header Length
 * is re-synced half of the time, so the decoders behind the header check get exercised too.
 */
import { IKE_HEADER_LENGTH } from '../../src/ikev2/registry/exchange.ts';
import { PayloadType } from '../../src/ikev2/registry/payload.ts';
import type { Prng } from './prng.ts';
import { chainLayout, messageLayout, type WireField, type WireLayout } from './wire-fields.ts';

export interface CorpusEntry {
  /** Where it came from ("typical:IKE_SA_INIT", "arb:message#12"), for reports. */
  readonly origin: string;
  /** 'message' goes to decodeMessage, 'chain' to decodePayloadChain with `first`. */
  readonly kind: 'message' | 'chain';
  readonly first: number;
  readonly bytes: Buffer;
  /** Fields to tweak and payload boundaries, located once (wire-fields.ts). */
  readonly layout: WireLayout;
  /** How often the fuzzer picks it relative to others (1 = the default). */
  readonly weight: number;
}

export function messageEntry(origin: string, bytes: Buffer, weight = 1): CorpusEntry {
  return { origin, kind: 'message', first: bytes[16] ?? 0, bytes, layout: messageLayout(bytes), weight };
}

export function chainEntry(origin: string, first: number, bytes: Buffer, weight = 1): CorpusEntry {
  return { origin, kind: 'chain', first, bytes, layout: chainLayout(bytes, first), weight };
}

export const MUTATORS = ['bitflip', 'byteset', 'field', 'truncate', 'insert', 'delete', 'splice', 'firstType'] as const;
export type Mutator = (typeof MUTATORS)[number];

export interface Mutant {
  readonly bytes: Buffer;
  /** First payload type (chains; for messages the header's Next Payload is in `bytes`). */
  readonly first: number;
  /** The operators applied, in order. */
  readonly ops: Mutator[];
}

/** Relative weights of the operators. */
const WEIGHTS: Readonly<Record<Mutator, number>> = {
  bitflip: 18,
  byteset: 14,
  field: 30,
  truncate: 8,
  insert: 8,
  delete: 8,
  splice: 8,
  firstType: 2,
};
const TOTAL_WEIGHT = MUTATORS.reduce((s, m) => s + WEIGHTS[m], 0);

function pickMutator(rng: Prng): Mutator {
  let x = rng.int(TOTAL_WEIGHT);
  for (const m of MUTATORS) {
    x -= WEIGHTS[m];
    if (x < 0) return m;
  }
  return 'bitflip';
}

const PAYLOAD_TYPES: readonly number[] = Object.values(PayloadType);

/** An interesting replacement for a field of `width` octets holding `v`. */
function tweak(rng: Prng, v: number, width: 1 | 2 | 4): number {
  const max = width === 4 ? 0xffffffff : (1 << (8 * width)) - 1;
  const candidates = [0, 1, 2, 3, 4, 7, 8, max, max - 1, v - 1, v + 1, v - 4, v + 4, v - 8, v + 8, v * 2, v >>> 1, v ^ 0x80, rng.int(max + 1)];
  const x = rng.pick(candidates);
  return ((x % (max + 1)) + max + 1) % (max + 1);
}

function writeField(b: Buffer, f: WireField, v: number): void {
  if (f.offset + f.width > b.length) return;
  if (f.width === 1) b[f.offset] = v;
  else if (f.width === 2) b.writeUInt16BE(v, f.offset);
  else b.writeUInt32BE(v, f.offset);
}

function readField(b: Buffer, f: WireField): number {
  if (f.offset + f.width > b.length) return 0;
  return f.width === 1 ? b[f.offset]! : f.width === 2 ? b.readUInt16BE(f.offset) : b.readUInt32BE(f.offset);
}

/** Add `delta` to every length field whose span covers a change at [at, at + removed). */
export function adjustLengths(b: Buffer, fields: readonly WireField[], at: number, removed: number, delta: number): void {
  for (const f of fields) {
    if (!f.span || f.offset + f.width > at || f.span.start > at || at + removed > f.span.end) continue;
    const max = f.width === 4 ? 0xffffffff : (1 << (8 * f.width)) - 1;
    writeField(b, f, (readField(b, f) + delta + max + 1) % (max + 1));
  }
}

interface Step {
  bytes: Buffer;
  first: number;
  /** No size change has left the IKE header Length stale. */
  lengthsDone: boolean;
}

function insert(s: Step, entry: CorpusEntry, rng: Prng): void {
  const at = rng.int(s.bytes.length + 1);
  const n = rng.range(1, 16);
  const out = Buffer.concat([s.bytes.subarray(0, at), rng.bytes(n), s.bytes.subarray(at)]);
  const consistent = rng.chance(0.5);
  if (consistent) adjustLengths(out, entry.layout.fields, at, 0, n);
  s.lengthsDone &&= consistent;
  s.bytes = out;
}

function remove(s: Step, entry: CorpusEntry, rng: Prng): void {
  if (s.bytes.length === 0) return;
  const at = rng.int(s.bytes.length);
  const n = rng.range(1, Math.min(16, s.bytes.length - at));
  const out = Buffer.concat([s.bytes.subarray(0, at), s.bytes.subarray(at + n)]);
  const consistent = rng.chance(0.5);
  if (consistent) adjustLengths(out, entry.layout.fields, at, n, -n);
  s.lengthsDone &&= consistent;
  s.bytes = out;
}

/** Join this entry's chain up to one of its payloads with another entry's chain from one of its payloads. */
function splice(s: Step, entry: CorpusEntry, corpus: readonly CorpusEntry[], rng: Prng): void {
  const other = rng.pick(corpus);
  const mine = entry.layout.payloads;
  const theirs = other.layout.payloads;
  if (mine.length === 0 || theirs.length === 0 || rng.chance(0.5)) {
    s.bytes = Buffer.concat([s.bytes.subarray(0, rng.int(s.bytes.length + 1)), other.bytes.subarray(rng.int(other.bytes.length + 1))]);
    return;
  }
  const cut = rng.pick(mine);
  const from = rng.pick(theirs);
  const out = Buffer.concat([s.bytes.subarray(0, cut.start), other.bytes.subarray(from.start)]);
  if (cut.typeAt < 0) s.first = from.type;
  else if (cut.typeAt < out.length) out[cut.typeAt] = from.type;
  s.bytes = out;
}

/** One operator, in place on `s` (whose buffer is our own copy). */
function apply(op: Mutator, s: Step, entry: CorpusEntry, corpus: readonly CorpusEntry[], rng: Prng): void {
  const b = s.bytes;
  switch (op) {
    case 'bitflip':
      for (let n = rng.range(1, 4); n > 0 && b.length > 0; n--) {
        const at = rng.int(b.length);
        b[at] = b[at]! ^ (1 << rng.int(8));
      }
      return;
    case 'byteset': {
      const value = rng.pick([0x00, 0xff, -1]);
      for (let n = rng.range(1, 4); n > 0 && b.length > 0; n--) b[rng.int(b.length)] = value < 0 ? rng.int(256) : value;
      return;
    }
    case 'field': {
      const fields = entry.layout.fields;
      if (fields.length === 0) return apply('bitflip', s, entry, corpus, rng);
      const f = rng.pick(fields);
      writeField(b, f, tweak(rng, readField(b, f), f.width));
      return;
    }
    case 'truncate':
      s.bytes = Buffer.from(b.subarray(0, rng.int(b.length + 1)));
      s.lengthsDone = false;
      return;
    case 'insert':
      return insert(s, entry, rng);
    case 'delete':
      return remove(s, entry, rng);
    case 'splice':
      splice(s, entry, corpus, rng);
      s.lengthsDone = false;
      return;
    case 'firstType':
      s.first = rng.chance(0.8) ? rng.pick(PAYLOAD_TYPES) : rng.int(256);
      if (entry.kind === 'message' && b.length > 16) b[16] = s.first;
      return;
  }
}

/** A mutated copy of `entry` (the entry itself is never modified). */
export function mutate(entry: CorpusEntry, corpus: readonly CorpusEntry[], rng: Prng): Mutant {
  const s: Step = { bytes: Buffer.from(entry.bytes), first: entry.first, lengthsDone: true };
  const ops: Mutator[] = [];
  const n = rng.chance(0.6) ? 1 : rng.range(2, 3);
  for (let i = 0; i < n; i++) {
    const op = pickMutator(rng);
    ops.push(op);
    apply(op, s, entry, corpus, rng);
  }
  const b = s.bytes;
  if (entry.kind === 'message' && !s.lengthsDone && b.length >= IKE_HEADER_LENGTH && rng.chance(0.5)) b.writeUInt32BE(b.length, 24);
  return { bytes: b, first: s.first, ops };
}
