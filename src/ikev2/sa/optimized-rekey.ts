/**
 * Optimized rekey (draft-ietf-ipsecme-ikev2-sa-ts-payloads-opt; digest §D): once both peers
 * sent N(OPTIMIZED_REKEY_SUPPORTED) in IKE_AUTH, rekeys may leave out SA and TS payloads:
 *
 *   Child SA:  {N(REKEY_SA, old SPI), N(OPTIMIZED_REKEY, new SPIi), Ni, [KEi]}
 *                                      -->  {N(OPTIMIZED_REKEY, new SPIr), Nr, [KEr]}
 *   IKE SA:    {N(OPTIMIZED_REKEY, new SPIi), Ni, KEi}  -->  {N(OPTIMIZED_REKEY, new SPIr), Nr, KEr}
 *
 * OPTIMIZED_REKEY has Protocol ID 0 and SPI size 0; the new SPI is its data: 8 octets for an
 * IKE SA, the REKEY_SA SPI size (4) for ESP. Everything but keys and SPIs is inherited, KE
 * and ADDKE methods included (a KE payload only if the SA had PFS; RFC 9370 rounds follow
 * in IKE_FOLLOWUP_KE). A Child SA from IKE_AUTH had no KE method agreed, so its first rekey
 * is a regular one (§5.1). When the configuration no longer allows the SA's parameters, a
 * regular rekey is used (§3). Any problem with an optimized request is answered with
 * NO_PROPOSAL_CHOSEN; the initiator then falls back to a regular rekey, which is always
 * accepted. The notify types are unassigned: EngineOptions.optimizedRekeyNotifies.
 */
import { GkmError } from '../errors.ts';
import { ProtocolId } from '../registry/misc.ts';
import { NotifyType } from '../registry/notify.ts';
import { PayloadType } from '../registry/payload.ts';
import type { Payload } from '../wire/payload.ts';
import type { KePayload, NotifyPayload, Proposal } from '../wire/payloads/index.ts';
import { optimizedRekeyCodecs, type NotifyDataCodec } from '../wire/payloads/index.ts';
import { configOfChild, type ChildSa, type NegotiatedChild } from './child-sa.ts';
import type { ChildConfig, EngineOptions, OptimizedRekeyNotifyTypes, PeerConfig } from './config.ts';
import type { IkeSa, IkeSuite } from './ike-sa.ts';
import { ikeRekeyProposals } from './ike-rekey.ts';
import { notifiesOf, single } from './messages.ts';
import { numberedProposals, selectProposal } from './proposals.ts';

export interface OptimizedRekeyCodecs {
  readonly supported: NotifyDataCodec<void>;
  readonly rekey: NotifyDataCodec<Buffer>;
}

const IKE_SPI_SIZE = 8;
const CHILD_SPI_SIZE = 4;
const knownTypes = new Set<number>(Object.values(NotifyType));
const codecCache = new WeakMap<OptimizedRekeyNotifyTypes, OptimizedRekeyCodecs>();

/**
 * The codecs for the configured notify types (one pair per options object). Both must be
 * status types (16384..65535), distinct, and not a type we know under another name.
 */
export function optimizedRekeyNotifies(options: Pick<EngineOptions, 'optimizedRekeyNotifies'>): OptimizedRekeyCodecs {
  const types = options.optimizedRekeyNotifies;
  const cached = codecCache.get(types);
  if (cached) return cached;
  const defaults = [NotifyType.OPTIMIZED_REKEY_SUPPORTED, NotifyType.OPTIMIZED_REKEY] as number[];
  for (const [field, t] of [['supported', types.supported], ['rekey', types.rekey]] as const) {
    const clash = knownTypes.has(t) && !defaults.includes(t);
    if (!Number.isInteger(t) || t < 16384 || t > 0xffff || clash) {
      throw new GkmError('GKM_IKE_CONFIG', { field: `optimizedRekeyNotifies.${field}`, detail: `${t}: needs an unassigned status notify type (16384..65535)` });
    }
  }
  if (types.supported === types.rekey) throw new GkmError('GKM_IKE_CONFIG', { field: 'optimizedRekeyNotifies', detail: 'the two types must differ' });
  const codecs = optimizedRekeyCodecs(types);
  codecCache.set(types, codecs);
  return codecs;
}

/** Whether we announce OPTIMIZED_REKEY_SUPPORTED to this peer. */
export const optimizedRekeyWanted = (options: EngineOptions, config: PeerConfig | undefined): boolean => config?.optimizedRekey ?? options.optimizedRekey;

const refuse = (detail: string): GkmError => new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'N(OPTIMIZED_REKEY)', detail });

/** A single proposal carrying the SA's own transforms (KE/ADDKE included), with `spi`. */
export function inheritedProposal(child: ChildSa, spi?: Buffer): Proposal {
  return numberedProposals(configOfChild(child).proposals, spi)[0]!;
}

/** The configuration still accepts the Child SA's parameters (else: configuration changed, §3). */
function childStillAllowed(child: ChildSa, config: ChildConfig | undefined): boolean {
  if (!config) return true;
  try {
    selectProposal([inheritedProposal(child)], numberedProposals(config.proposals), { protocolId: child.protocolId });
    return true;
  } catch {
    return false;
  }
}

function ikeStillAllowed(suite: IkeSuite, specs: PeerConfig['proposals']): boolean {
  try {
    selectProposal([{ ...suite.proposal, number: 1 }], ikeRekeyProposals(specs, suite), { protocolId: ProtocolId.IKE });
    return true;
  } catch {
    return false;
  }
}

const ikeProposalsOf = (sa: IkeSa): PeerConfig['proposals'] => sa.config?.proposals ?? sa.initConfig.proposals;

/** Initiator: rekey `old` the optimized way? */
export function canOptimizeChildRekey(sa: IkeSa, old: ChildSa, config: ChildConfig | undefined): boolean {
  return sa.extensions.optimizedRekey && old.initial !== true && childStillAllowed(old, config);
}

/** Initiator: rekey the IKE SA the optimized way? */
export function canOptimizeIkeRekey(sa: IkeSa): boolean {
  return sa.extensions.optimizedRekey && ikeStillAllowed(sa.requireCrypto().suite, ikeProposalsOf(sa));
}

/** Notifies that would change inherited properties (§5) or the resource binding (RFC 9611). */
const NOT_IN_OPTIMIZED = new Set<number>([NotifyType.USE_TRANSPORT_MODE, NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED, NotifyType.USE_AGGFRAG, NotifyType.SA_RESOURCE_INFO]);

/** Request or response of an optimized rekey: no SA/TS, no property notify, one OPTIMIZED_REKEY. */
function optimizedSpi(p: readonly Payload[], codec: NotifyDataCodec<Buffer>, spiSize: number, fail: (detail: string) => GkmError): Buffer {
  if (p.some((x) => x.type === PayloadType.SA || x.type === PayloadType.TSi || x.type === PayloadType.TSr)) throw fail('SA or TS payloads in an optimized rekey');
  const notifies = notifiesOf(p);
  const banned = notifies.find((n) => NOT_IN_OPTIMIZED.has(n.notifyType));
  if (banned) throw fail(`notify ${banned.notifyType} in an optimized rekey`);
  const ours = notifies.filter((n) => n.notifyType === codec.notifyType);
  if (ours.length !== 1) throw fail(`${ours.length} OPTIMIZED_REKEY notifies`);
  const n = ours[0]!;
  let spi: Buffer;
  try {
    spi = codec.parse(n);
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (n.protocolId !== 0 || n.spi.length !== 0) throw fail('Protocol ID and SPI size must be 0');
  if (spi.length !== spiSize) throw fail(`new SPI of ${spi.length} octets, expected ${spiSize}`);
  const usable = spiSize === CHILD_SPI_SIZE ? spi.readUInt32BE() >= 256 : !spi.equals(Buffer.alloc(spiSize));
  if (!usable) throw fail(`reserved SPI ${spi.toString('hex')}`);
  return Buffer.from(spi);
}

/** KEi/KEr present exactly when `method` is (the SA's first KE method), with that method. */
function checkInheritedKe(p: readonly Payload[], method: number | undefined, fail: (detail: string) => GkmError): void {
  const ke = single<KePayload>(p, PayloadType.KE);
  if (method === undefined ? ke !== undefined : ke?.method !== method) throw fail(`KE ${ke?.method ?? 'missing'}, the SA uses ${method ?? 'no PFS'}`);
}

// --- initiator ---

/** The responder's new SPI from an optimized response; GKM_IKE_BAD_RESPONSE when it does not fit. */
export function optimizedResponseSpi(p: readonly Payload[], codecs: OptimizedRekeyCodecs, kind: 'ike' | 'child', keMethod: number | undefined): Buffer {
  const bad = (detail: string): GkmError => new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'N(OPTIMIZED_REKEY)', detail });
  const spi = optimizedSpi(p, codecs.rekey, kind === 'ike' ? IKE_SPI_SIZE : CHILD_SPI_SIZE, bad);
  checkInheritedKe(p, keMethod, bad);
  return spi;
}

/** The Child SA an optimized rekey of `old` creates: everything but SPIs (and keys) inherited. */
export function inheritedChild(old: ChildSa, inboundSpi: Buffer, outboundSpi: Buffer): NegotiatedChild {
  return {
    name: old.name,
    protocolId: old.protocolId,
    mode: old.mode,
    proposal: inheritedProposal(old, outboundSpi),
    inboundSpi,
    outboundSpi,
    localTs: old.localTs,
    remoteTs: old.remoteTs,
    resourceId: old.resourceId,
  };
}

// --- responder ---

/** The request is an optimized rekey: it carries OPTIMIZED_REKEY and no SA payload. */
export const isOptimizedRequest = (p: readonly Payload[], codecs: OptimizedRekeyCodecs): boolean =>
  !p.some((x) => x.type === PayloadType.SA) && notifiesOf(p).some((n) => n.notifyType === codecs.rekey.notifyType);

/** A request with both an SA payload and OPTIMIZED_REKEY, on an SA that negotiated it: ambiguous. */
export function checkNotMixed(sa: IkeSa, p: readonly Payload[], codecs: OptimizedRekeyCodecs): void {
  if (sa.extensions.optimizedRekey && p.some((x) => x.type === PayloadType.SA) && notifiesOf(p).some((n) => n.notifyType === codecs.rekey.notifyType)) {
    throw refuse('OPTIMIZED_REKEY together with an SA payload');
  }
}

function requireNegotiated(sa: IkeSa): void {
  if (!sa.extensions.optimizedRekey) throw refuse('optimized rekey was not negotiated');
}

/**
 * The peer's optimized Child SA rekey of `old` (our view). Throws GKM_IKE_NO_PROPOSAL_CHOSEN;
 * nothing is allocated before every check passed.
 */
export function acceptOptimizedChild(sa: IkeSa, old: ChildSa, p: readonly Payload[], codecs: OptimizedRekeyCodecs, config: ChildConfig | undefined, allocateSpi: () => Buffer): { child: NegotiatedChild; payloads: Payload[] } {
  requireNegotiated(sa);
  const outboundSpi = optimizedSpi(p, codecs.rekey, CHILD_SPI_SIZE, refuse);
  if (old.initial) throw refuse('the first rekey of a Child SA created in IKE_AUTH must be a regular one');
  if (!childStillAllowed(old, config)) throw refuse('the configuration no longer allows the Child SA parameters');
  checkInheritedKe(p, old.keMethods[0], refuse);
  const inboundSpi = allocateSpi();
  return { child: inheritedChild(old, inboundSpi, outboundSpi), payloads: [codecs.rekey.build(inboundSpi)] };
}

/** The peer's optimized IKE SA rekey: the new SA's suite and SPIs. Throws GKM_IKE_NO_PROPOSAL_CHOSEN. */
export function acceptOptimizedIke(sa: IkeSa, p: readonly Payload[], codecs: OptimizedRekeyCodecs, allocateSpi: () => Buffer): { suite: IkeSuite; spiI: Buffer; spiR: Buffer; payloads: Payload[] } {
  requireNegotiated(sa);
  const spiI = optimizedSpi(p, codecs.rekey, IKE_SPI_SIZE, refuse);
  const suite = sa.requireCrypto().suite;
  if (!ikeStillAllowed(suite, ikeProposalsOf(sa))) throw refuse('the configuration no longer allows the IKE SA parameters');
  checkInheritedKe(p, suite.keMethod, refuse);
  const spiR = allocateSpi();
  return { suite, spiI, spiR, payloads: [codecs.rekey.build(spiR)] };
}

/** Whether an error answer to our optimized rekey calls for a regular one (§5: "can retry a regular rekey"). */
export const fallsBackToRegular = (n: NotifyPayload): boolean => n.notifyType === NotifyType.NO_PROPOSAL_CHOSEN || n.notifyType === NotifyType.INVALID_KE_PAYLOAD;
