/**
 * The fuzzer's seed corpus: valid encoded inputs only (checked here: each must decode).
 *  - the typical messages of the codec benchmark: IKE_SA_INIT (X25519, ML-KEM-768), the
 *    GSA_AUTH response protected (SK) and fragmented (SKF), and in the clear;
 *  - decrypted inner chains: the GSA_AUTH response's IDr/AUTH/GSA/KD, and GSA and KD alone;
 *  - messages and chains sampled from the codec property tests' fast-check arbitraries.
 * The few typical entries are weighted up so they get about a third of the inputs.
 */
import { fragmentMessage, unprotectMessage } from '../../src/ikev2/crypto/encrypted-message.ts';
import { decodeMessage, encodeMessage } from '../../src/ikev2/wire/message.ts';
import { decodePayloadChain, encodeChain, type Payload } from '../../src/ikev2/wire/payload.ts';
import { PayloadType } from '../../src/ikev2/registry/payload.ts';
import { chainEntry, messageEntry, type CorpusEntry } from './mutate.ts';
import { Prng } from './prng.ts';
import { counterIvs, gsaAuthResponse, saInitMlKem768, saInitX25519 } from './typical-messages.ts';
import { sampleArbitraryChains, sampleArbitraryMessages } from './arbitrary-samples.ts';

/** Fragment size for the SKF entries: splits the GSA_AUTH response in a few fragments. */
const FRAGMENT_SIZE = 320;
/** Typical entries are few: pick each this many times more often than a sampled one. */
const TYPICAL_WEIGHT = 30;

function chainOf(origin: string, payloads: readonly Payload[]): CorpusEntry {
  const { first, bytes } = encodeChain(payloads);
  return chainEntry(origin, first, bytes, TYPICAL_WEIGHT);
}

export function typicalCorpus(seed: number): CorpusEntry[] {
  const rng = new Prng(seed);
  const gsaAuth = gsaAuthResponse(rng);
  const opened = unprotectMessage(decodeMessage(gsaAuth.raw), gsaAuth.cipher);
  const byType = (t: number): Payload[] => opened.inner.filter((p) => p.type === t);
  const fragments = fragmentMessage(gsaAuth.header, gsaAuth.inner, gsaAuth.cipher, counterIvs(), FRAGMENT_SIZE);
  return [
    messageEntry('typical:IKE_SA_INIT/X25519', encodeMessage(saInitX25519(rng)), TYPICAL_WEIGHT),
    messageEntry('typical:IKE_SA_INIT/ML-KEM-768', encodeMessage(saInitMlKem768(rng)), TYPICAL_WEIGHT),
    messageEntry('typical:GSA_AUTH/SK', gsaAuth.raw, TYPICAL_WEIGHT),
    messageEntry('typical:GSA_AUTH/clear', encodeMessage({ header: gsaAuth.header, payloads: opened.inner }), TYPICAL_WEIGHT),
    ...fragments.map((f, i) => messageEntry(`typical:GSA_AUTH/SKF${i + 1}`, f, TYPICAL_WEIGHT / 4)),
    chainEntry('typical:GSA_AUTH/inner', opened.innerFirstPayload, opened.innerBytes, TYPICAL_WEIGHT),
    chainOf('typical:GSA', byType(PayloadType.GSA)),
    chainOf('typical:KD', byType(PayloadType.KD)),
  ];
}

export interface CorpusOptions {
  readonly seed: number;
  /** Messages and chains to sample from the arbitraries (each). */
  readonly samples: number;
}

/** The whole corpus; throws if an entry does not decode (the corpus must be valid). */
export function buildCorpus(opts: CorpusOptions): CorpusEntry[] {
  const corpus = [
    ...typicalCorpus(opts.seed),
    ...sampleArbitraryMessages(opts.seed, opts.samples).map((b, i) => messageEntry(`arb:message#${i}`, b)),
    ...sampleArbitraryChains(opts.seed, opts.samples).map((c, i) => chainEntry(`arb:chain#${i}`, c.first, c.bytes)),
  ];
  for (const e of corpus) {
    if (e.kind === 'message') decodeMessage(e.bytes);
    else decodePayloadChain(e.first, e.bytes);
  }
  return corpus;
}
