/**
 * IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.7, §2.10, §2.23; RFC 7383 §2.3; RFC 7427 §4;
 * RFC 6023; RFC 9242 §3; RFC 9838 §2.2 KWA).
 *
 *   HDR, [N(COOKIE),] SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST), [N(...SUPPORTED)]  -->
 *                         <--  HDR, SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST), [N(...)]
 *
 * The responder keeps no state until it answers with its SA: COOKIE challenges and
 * INVALID_KE_PAYLOAD / NO_PROPOSAL_CHOSEN / INVALID_SYNTAX replies are stateless.
 */
import { GkmError } from '../../errors.ts';
import { createInitiatorKe, respondKe, respondKeLater, type KeInitiator } from '../../crypto/ke.ts';
import type { DeferredSecret, SecretKdf } from '../../crypto/ke-dh.ts';
import { deriveInitialIkeKeys, ikeKeymatLength, ikeKeySizes, splitIkeKeys } from '../../crypto/keys.ts';
import { getPrf, type Prf } from '../../crypto/prf.ts';
import { wipe } from '../../crypto/zeroize.ts';
import { ExchangeType } from '../../registry/exchange.ts';
import { Port, ProtocolId } from '../../registry/misc.ts';
import { NotifyType } from '../../registry/notify.ts';
import { PayloadType } from '../../registry/payload.ts';
import { IntegId, TransformType } from '../../registry/transform.ts';
import type { Payload } from '../../wire/payload.ts';
import type { KePayload, NoncePayload, NotifyPayload, Proposal, SaPayload } from '../../wire/payloads/index.ts';
import { keyLengthOf, NotifyData, type ProposalSpec } from '../../wire/payloads/index.ts';
import { DEFAULT_SIGNATURE_HASHES, type IkeSaInitConfig, type PeerConfig } from '../config.ts';
import { ikeCryptoFromKeys, protectionOf } from '../additional-ke.ts';
import { retained } from '../retained.ts';
import { sharedNumbers } from '../shared-values.ts';
import { IkeSa, type IkeCrypto, type IkeSuite, type InitRecord, type PendingIkeCrypto, type Role } from '../ike-sa.ts';
import { findNotify, firstErrorNotify, hasNotify, notifiesOf, PeerNotifyError, required } from '../messages.ts';
import { detectNat, natDetectionNotifies } from '../nat.ts';
import { checkChosenProposal, chosenAdditionalKes, chosenId, numberedProposals, offeredKeMethods, offersAdditionalKe, selectProposal } from '../proposals.ts';
import type { InboundMessage, InitiatorTask, SentRequest, TaskContext, TaskResult } from '../task.ts';
import type { CookieJar } from '../cookies.ts';
import type { RandomSource } from '../types.ts';
import { nextInitiatorStep } from './ike-intermediate.ts';

const ZERO_SPI = Buffer.alloc(8);

// --- shared -------------------------------------------------------------------------------

/**
 * Suites of IKE SAs negotiated without an SPI in the proposal (IKE_SA_INIT), shared by every
 * SA with the same transforms: one frozen object per distinct suite instead of a proposal
 * with its transform list per SA. Bounded: what can be chosen is a subset of our own offers.
 */
const sharedSuites = new Map<string, IkeSuite>();
const SHARED_SUITES_MAX = 256;

const transformsKey = (p: Proposal): string =>
  `${p.protocolId};${p.transforms.map((t) => `${t.transformType}.${t.transformId}.${t.attributes.map((a) => (a.tv ? `${a.type}=${a.value}` : `${a.type}:${a.data.toString('hex')}`)).join(',')}`).join(';')}`;

/** The negotiated suite of a chosen IKE proposal; GKM_IKE_NO_PROPOSAL_CHOSEN if incomplete. */
export function ikeSuiteOf(p: Proposal): IkeSuite {
  const shareable = p.spi.length === 0;
  const key = shareable ? transformsKey(p) : '';
  const known = shareable ? sharedSuites.get(key) : undefined;
  if (known) return known;
  const suite = buildIkeSuite(p);
  if (shareable && sharedSuites.size < SHARED_SUITES_MAX) sharedSuites.set(key, deepFreeze(suite));
  return suite;
}

function buildIkeSuite(p: Proposal): IkeSuite {
  const encr = p.transforms.find((t) => t.transformType === TransformType.ENCR);
  const prfId = chosenId(p, TransformType.PRF);
  const keMethod = chosenId(p, TransformType.KE);
  if (!encr || prfId === undefined || keMethod === undefined) {
    throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SA', detail: 'IKE proposal needs ENCR, PRF and KE' });
  }
  const integId = chosenId(p, TransformType.INTEG);
  return {
    // Kept for the SA's life: nothing in it may be a view into the message.
    proposal: {
      ...p,
      spi: retained(p.spi)[0]!,
      transforms: p.transforms.map((t) => ({ ...t, attributes: t.attributes.map((a) => (a.tv ? { ...a } : { ...a, data: retained(a.data)[0]! })) })),
    },
    encrId: encr.transformId,
    keyLengthBits: keyLengthOf(encr),
    integId: integId === IntegId.NONE ? undefined : integId,
    prfId,
    keMethod,
    additionalKes: chosenAdditionalKes(p),
    kwaId: chosenId(p, TransformType.KWA),
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o) && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** SKEYSEED and SK_* (RFC 7296 §2.14), then the SK ciphers of our role. Wipes `secret`. */
export function deriveIkeCrypto(role: Role, suite: IkeSuite, ni: Buffer, nr: Buffer, secret: Buffer, spiI: Buffer, spiR: Buffer): IkeCrypto {
  try {
    const prf = getPrf(suite.prfId);
    const keys = deriveInitialIkeKeys(prf, ni, nr, secret, spiI, spiR, ikeKeySizes(prf, protectionOf(suite)));
    return ikeCryptoFromKeys(role, suite, prf, keys);
  } finally {
    wipe(secret);
  }
}

/**
 * The keys of a responder, derived on first use (IkeSa.crypto) from `secret`: SK_* computed
 * already (secret.derivedKeys, keysAhead) or g^ir.
 */
function pendingIkeCrypto(suite: IkeSuite, ni: Buffer, nr: Buffer, secret: DeferredSecret, spiI: Buffer, spiR: Buffer): PendingIkeCrypto {
  return {
    suite,
    resolve() {
      if (!secret.derivedKeys) return deriveIkeCrypto('responder', suite, ni, nr, secret.take(), spiI, spiR);
      const prf = getPrf(suite.prfId);
      return ikeCryptoFromKeys('responder', suite, prf, splitIkeKeys(secret.take(), ikeKeySizes(prf, protectionOf(suite))));
    },
    dispose: () => secret.dispose(),
  };
}

/**
 * SKEYSEED = prf(Ni | Nr, g^ir) and SK_* = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) (RFC 7296
 * §2.14) as a SecretKdf, for a PRF on the addon's HMAC; undefined otherwise. Also what
 * deriveIkeCrypto would refuse, checked before answering (NO_PROPOSAL_CHOSEN, as with keys
 * derived at once).
 */
function keysAhead(suite: IkeSuite, ni: Buffer, nr: Buffer, spiI: Buffer, spiR: Buffer): SecretKdf | undefined {
  let prf: Prf;
  let length: number;
  try {
    prf = getPrf(suite.prfId);
    length = ikeKeymatLength(ikeKeySizes(prf, protectionOf(suite)));
  } catch (e) {
    throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SA', detail: 'suite cannot be keyed', cause: e });
  }
  if (prf.nativeHash === undefined) return undefined;
  const key = Buffer.concat([ni, nr]);
  return { hash: prf.nativeHash, digestSize: prf.outputLength, length, key, seed: Buffer.concat([key, spiI, spiR]) };
}

/** RFC 7296 §2.10: at least 128 bits and half the PRF key size. */
function checkNonce(nonce: Buffer, prfId: number): void {
  const min = Math.max(16, Math.ceil(getPrf(prfId).keyLength / 2));
  if (nonce.length < min) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'Nonce', detail: `${nonce.length} < ${min} octets` });
}

/** Status notifies both sides may send (RFC 7383, RFC 7427, RFC 6023, RFC 9242). */
function capabilityNotifies(config: IkeSaInitConfig, intermediate: boolean): NotifyPayload[] {
  const out: NotifyPayload[] = [];
  if (config.fragmentation !== false) out.push(NotifyData.IKEV2_FRAGMENTATION_SUPPORTED.build());
  out.push(NotifyData.SIGNATURE_HASH_ALGORITHMS.build(config.signatureHashes ?? DEFAULT_SIGNATURE_HASHES));
  if (config.childless !== false) out.push(NotifyData.CHILDLESS_IKEV2_SUPPORTED.build());
  if (intermediate) out.push(NotifyData.INTERMEDIATE_EXCHANGE_SUPPORTED.build());
  return out;
}

function recordPeerCapabilities(sa: IkeSa, payloads: readonly Payload[], weOfferedIntermediate: boolean): void {
  const hashes = findNotify(payloads, NotifyType.SIGNATURE_HASH_ALGORITHMS);
  sa.extensions.fragmentation = sa.initConfig.fragmentation !== false && hasNotify(payloads, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);
  sa.extensions.childless = hasNotify(payloads, NotifyType.CHILDLESS_IKEV2_SUPPORTED);
  sa.extensions.peerSignatureHashes = hashes ? sharedNumbers(NotifyData.SIGNATURE_HASH_ALGORITHMS.parse(hashes)) : undefined;
  sa.extensions.intermediate = weOfferedIntermediate && hasNotify(payloads, NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED);
}


// --- initiator ----------------------------------------------------------------------------

export class IkeSaInitTask implements InitiatorTask {
  readonly name = 'IKE_SA_INIT';
  readonly exchangeType = ExchangeType.IKE_SA_INIT;
  readonly phases = ['init-sent'] as const;
  readonly critical = true;
  readonly #config: PeerConfig;
  readonly #proposals: Proposal[];
  readonly #ni: Buffer;
  readonly #maxRetries: number;
  #ke: KeInitiator;
  #cookie: Buffer | undefined;
  #retries = 0;

  constructor(config: PeerConfig, random: RandomSource, nonceLength: number, maxRetries: number) {
    this.#config = config;
    this.#proposals = numberedProposals(config.proposals);
    const method = offeredKeMethods(this.#proposals)[0];
    if (method === undefined) throw new GkmError('GKM_IKE_CONFIG', { field: 'proposals', detail: 'no KE method' });
    this.#ke = createInitiatorKe(method);
    this.#ni = random(nonceLength);
    this.#maxRetries = maxRetries;
  }

  buildRequest(ctx: TaskContext): Payload[] {
    const sa = ctx.sa;
    const payloads: Payload[] = [];
    if (this.#cookie) payloads.push(NotifyData.COOKIE.build(this.#cookie)); // RFC 7296 §2.6: first payload
    payloads.push(
      { type: PayloadType.SA, proposals: this.#proposals } satisfies SaPayload,
      { type: PayloadType.KE, method: this.#ke.method, data: this.#ke.publicData() } satisfies KePayload,
      { type: PayloadType.NONCE, nonce: this.#ni } satisfies NoncePayload,
      ...natDetectionNotifies(sa.spiI, ZERO_SPI, sa.local, sa.remote),
      ...capabilityNotifies(this.#config, offersAdditionalKe(this.#proposals)),
    );
    return payloads;
  }

  #retry(): TaskResult {
    if (++this.#retries > this.#maxRetries) throw new GkmError('GKM_IKE_PEER_ERROR', { field: 'IKE_SA_INIT', detail: 'too many COOKIE / INVALID_KE_PAYLOAD rounds' });
    return 'resend';
  }

  processResponse(ctx: TaskContext, res: InboundMessage, req: SentRequest): TaskResult {
    const p = res.payloads;
    const cookie = findNotify(p, NotifyType.COOKIE);
    if (cookie) {
      this.#cookie = NotifyData.COOKIE.parse(cookie);
      return this.#retry();
    }
    const invalidKe = findNotify(p, NotifyType.INVALID_KE_PAYLOAD);
    if (invalidKe) {
      const wanted = NotifyData.INVALID_KE_PAYLOAD.parse(invalidKe);
      // Unauthenticated: only a method we offered, and not the one we sent, is believable.
      if (!offeredKeMethods(this.#proposals).includes(wanted) || wanted === this.#ke.method) return 'ignore';
      this.#ke.dispose();
      this.#ke = createInitiatorKe(wanted); // same SPIi, Ni and proposals (RFC 7296 §1.3)
      return this.#retry();
    }
    const error = firstErrorNotify(p);
    if (error) throw new PeerNotifyError(error, 'IKE_SA_INIT');
    let accepted: { suite: IkeSuite; ke: KePayload; nr: Buffer };
    try {
      accepted = this.#check(res);
    } catch (e) {
      ctx.emit({ type: 'error', ikeSaId: ctx.sa.id, code: 'GKM_IKE_BAD_RESPONSE', message: `ignored IKE_SA_INIT response: ${(e as Error).message}` });
      return 'ignore'; // unauthenticated garbage must not kill the exchange; retransmissions go on
    }
    this.#complete(ctx, res, req, accepted);
    return 'done';
  }

  #check(res: InboundMessage): { suite: IkeSuite; ke: KePayload; nr: Buffer } {
    if (res.header.spiR.equals(ZERO_SPI)) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SPIr', detail: 'zero' });
    const saP = required<SaPayload>(res.payloads, PayloadType.SA, 'SA');
    const ke = required<KePayload>(res.payloads, PayloadType.KE, 'KE');
    const nr = required<NoncePayload>(res.payloads, PayloadType.NONCE, 'Nr').nonce;
    const suite = ikeSuiteOf(checkChosenProposal(saP.proposals, this.#proposals, 0));
    if (ke.method !== suite.keMethod || ke.method !== this.#ke.method) {
      throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'KE', detail: `method ${ke.method}, sent ${this.#ke.method}` });
    }
    checkNonce(nr, suite.prfId);
    // RFC 9370 §2.2.1: ADDKE rounds run in IKE_INTERMEDIATE, which the responder must announce.
    if (suite.additionalKes.length > 0 && !hasNotify(res.payloads, NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED)) {
      throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA', detail: 'additional key exchange chosen without INTERMEDIATE_EXCHANGE_SUPPORTED' });
    }
    return { suite, ke, nr };
  }

  #complete(ctx: TaskContext, res: InboundMessage, req: SentRequest, { suite, ke, nr }: { suite: IkeSuite; ke: KePayload; nr: Buffer }): void {
    const sa = ctx.sa;
    // The SPI apart from the record: the record is dropped once authenticated (IkeSa.forgetAuthentication).
    const [spiR] = retained(res.header.spiR) as [Buffer];
    const [nrCopy, requestBytes, responseBytes] = retained(nr, req.datagrams[0]!, res.raw) as [Buffer, Buffer, Buffer];
    const secret = this.#ke.complete(ke.data);
    const crypto = deriveIkeCrypto('initiator', suite, this.#ni, nr, secret, sa.spiI, spiR);
    const init: InitRecord = { ni: this.#ni, nr: nrCopy, requestBytes, responseBytes };
    sa.keyed(spiR, init, crypto);
    recordPeerCapabilities(sa, res.payloads, offersAdditionalKe(this.#proposals));
    const nat = detectNat(notifiesOf(res.payloads), sa.spiI, spiR, res.local, res.remote);
    sa.extensions.nat = nat;
    // RFC 7296 §2.23: after a NAT is detected, move to 4500 (non-ESP marker from then on).
    const float = nat !== undefined && (nat.local || nat.remote || this.#config.natTraversal === 'always');
    // From 500, and from 848 too (RFC 9838 §2.1.1: registration moves to 4500 also when it started on 848).
    if (float && (sa.remote.port === Port.IKE || sa.remote.port === Port.GDOI)) {
      sa.remote = { ip: sa.remote.ip, port: Port.NAT_T };
      sa.local = { ip: sa.local.ip, port: Port.NAT_T };
    }
    ctx.queue(nextInitiatorStep(this.#config, sa), { front: true }); // IKE_INTERMEDIATE rounds, then IKE_AUTH
  }

  dispose(): void {
    this.#ke.dispose();
  }
}

// --- responder ----------------------------------------------------------------------------

/** Our numbered IKE proposals per configuration, built once (otherwise ~35 µs per request). */
const numberedIke = new WeakMap<readonly ProposalSpec[], readonly Proposal[]>();
function ourIkeProposals(specs: readonly ProposalSpec[]): readonly Proposal[] {
  let ours = numberedIke.get(specs);
  if (!ours) numberedIke.set(specs, (ours = numberedProposals(specs)));
  return ours;
}

export interface InitResponderInput {
  readonly request: InboundMessage;
  readonly config: IkeSaInitConfig;
  readonly cookies: CookieJar;
  readonly cookieRequired: boolean;
  readonly random: RandomSource;
  readonly nonceLength: number;
  readonly now: number;
  readonly windowSize: number;
}

export type InitResponderResult =
  /** Stateless reply: N(COOKIE) (RFC 7296 §2.6). */
  | { readonly kind: 'stateless'; readonly payloads: Payload[] }
  /** Answer with `payloads`, then create the SA from the encoded response. */
  | { readonly kind: 'accept'; readonly spiR: Buffer; readonly payloads: Payload[]; create(responseBytes: Buffer): IkeSa };

/**
 * The responder's processing of an IKE_SA_INIT request. Errors are thrown as GkmErrors whose
 * notify the engine sends back statelessly (INVALID_KE_PAYLOAD carries the wanted method).
 */
export function respondToIkeSaInit(input: InitResponderInput): InitResponderResult {
  const { request, config } = input;
  const p = request.payloads;
  const spiI = request.header.spiI;
  const ni = required<NoncePayload>(p, PayloadType.NONCE, 'Ni').nonce;
  if (input.cookieRequired) {
    const first = p[0];
    const sent = first?.type === PayloadType.NOTIFY && first.notifyType === NotifyType.COOKIE ? NotifyData.COOKIE.parse(first) : undefined;
    if (!sent || !input.cookies.verify(sent, ni, request.remote.ip, spiI)) {
      return { kind: 'stateless', payloads: [NotifyData.COOKIE.build(input.cookies.make(ni, request.remote.ip, spiI))] };
    }
  }
  const saP = required<SaPayload>(p, PayloadType.SA, 'SA');
  const ke = required<KePayload>(p, PayloadType.KE, 'KE');
  const chosen = selectProposal(saP.proposals, ourIkeProposals(config.proposals), {
    protocolId: ProtocolId.IKE,
    prefer: new Map([[TransformType.KE, ke.method]]),
    additionalKe: hasNotify(p, NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED), // RFC 9370 §2.2.1
  });
  const suite = ikeSuiteOf(chosen);
  if (ke.method !== suite.keMethod) {
    throw new GkmError('GKM_IKE_INVALID_KE', { field: 'KE', detail: `got ${ke.method}, want ${suite.keMethod}`, notifyData: Buffer.of(suite.keMethod >> 8, suite.keMethod & 0xff) });
  }
  checkNonce(ni, suite.prfId);
  // RFC 9242 §3 / RFC 9370 §2.2.1: announced (like strongSwan) only when an ADDKE round follows.
  const intermediate = suite.additionalKes.length > 0;
  // Without ADDKE rounds the keys are needed only when the next request comes: the shared
  // secret is computed meanwhile (X25519/X448 on the key-pair pool's worker), the keys on first use.
  // With an HMAC PRF on the addon the worker derives SKEYSEED and SK_* as well (keysAhead).
  let spiR = input.random(8);
  while (spiR.equals(ZERO_SPI)) spiR = input.random(8);
  const nr = input.random(input.nonceLength);
  let keData: Buffer;
  let crypto: IkeCrypto | PendingIkeCrypto;
  if (!intermediate) {
    const later = respondKeLater(ke.method, ke.data, keysAhead(suite, ni, nr, spiI, spiR)); // GKM_CRYPTO_INVALID_KE -> INVALID_SYNTAX
    keData = later.publicData;
    crypto = pendingIkeCrypto(suite, ni, nr, later.secret, spiI, spiR);
  } else {
    const reply = respondKe(ke.method, ke.data); // GKM_CRYPTO_INVALID_KE -> INVALID_SYNTAX
    keData = reply.publicData;
    try {
      crypto = deriveIkeCrypto('responder', suite, ni, nr, reply.sharedSecret, spiI, spiR);
    } catch (e) {
      throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SA', detail: 'suite cannot be keyed', cause: e });
    }
  }
  const payloads: Payload[] = [
    { type: PayloadType.SA, proposals: [chosen] } satisfies SaPayload,
    { type: PayloadType.KE, method: ke.method, data: keData } satisfies KePayload,
    { type: PayloadType.NONCE, nonce: nr } satisfies NoncePayload,
    ...natDetectionNotifies(spiI, spiR, request.local, request.remote),
    ...capabilityNotifies(config, intermediate),
  ];
  return {
    kind: 'accept',
    spiR,
    payloads,
    create(responseBytes) {
      // The SPI apart from the record: the record is dropped once authenticated (IkeSa.forgetAuthentication).
      const [spiICopy, spiRCopy] = retained(spiI, spiR) as [Buffer, Buffer];
      const [niCopy, requestBytes, responseCopy] = retained(ni, request.raw, responseBytes) as [Buffer, Buffer, Buffer];
      const init: InitRecord = { ni: niCopy, nr, requestBytes, responseBytes: responseCopy };
      const sa = IkeSa.responder(spiICopy, spiRCopy, request.local, request.remote, config, init, crypto, input.now, input.windowSize);
      recordPeerCapabilities(sa, p, intermediate);
      sa.extensions.nat = detectNat(notifiesOf(p), spiI, ZERO_SPI, request.local, request.remote);
      return sa;
    },
  };
}

