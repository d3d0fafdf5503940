/**
 * CREATE_CHILD_SA (RFC 7296 §1.3, §2.8, §2.17, §2.18, §2.25; RFC 9370 §2.2.4):
 *
 *   new Child SA:  {SA, Ni, [KEi], TSi, TSr}               -->  {SA, Nr, [KEr], TSi, TSr}
 *   Child rekey:   {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}  -->  {SA, Nr, [KEr], TSi, TSr}
 *   IKE SA rekey:  {SA(IKE, new SPIi), Ni, KEi}            -->  {SA(IKE, new SPIr), Nr, KEr}
 *
 * When ADDKE transforms are chosen the response adds N(ADDITIONAL_KEY_EXCHANGE) and one
 * IKE_FOLLOWUP_KE exchange per further round follows (followup-ke.ts); keys are derived once,
 * after the last round, from SK(0) | Ni | Nr | SK(1) | ... (RFC 9370 §2.2.4).
 *
 * After a Child SA rekey the initiator deletes the old pair with D(ESP, own inbound SPI); the
 * old SA stays installed (inbound traffic) until then. After an IKE SA rekey the Child SAs
 * and queued exchanges move to the new IKE SA and the initiator deletes the old one.
 *
 * Collisions (§2.8.1): when both peers rekey the same SA, each answers the other's request,
 * and the exchange holding the lowest of the four nonces created the redundant SA, which its
 * initiator deletes; the other initiator deletes the old SA. A multi-KE exchange that loses
 * starts no further IKE_FOLLOWUP_KE round. A rekey of an SA being deleted or already
 * replaced, and any Child SA exchange while the IKE SA is being rekeyed, gets
 * TEMPORARY_FAILURE; the initiator retries after a few seconds if the SA still needs it.
 *
 * Optimized rekey (optimized-rekey.ts, digest §D), once negotiated in IKE_AUTH:
 *
 *   Child rekey:   {N(REKEY_SA), N(OPTIMIZED_REKEY, SPIi), Ni, [KEi]}  -->  {N(OPTIMIZED_REKEY, SPIr), Nr, [KEr]}
 *   IKE SA rekey:  {N(OPTIMIZED_REKEY, SPIi), Ni, KEi}                 -->  {N(OPTIMIZED_REKEY, SPIr), Nr, KEr}
 *
 * with the old SA's transforms and KE methods; NO_PROPOSAL_CHOSEN makes us retry regularly.
 * RFC 9611 (per-resource.ts, digest §C): new Child SAs may carry N(SA_RESOURCE_INFO) both
 * ways; TS_MAX_QUEUE refuses one more for the TS set; rekeys inherit the binding.
 */
import { GkmError } from '../../errors.ts';
import { createInitiatorKe, respondKe, type KeInitiator } from '../../crypto/ke.ts';
import { InitiatorKeRounds, ResponderKeRounds } from '../../crypto/ke-multi.ts';
import { wipe } from '../../crypto/zeroize.ts';
import { ExchangeType } from '../../registry/exchange.ts';
import { ProtocolId } from '../../registry/misc.ts';
import { NotifyType } from '../../registry/notify.ts';
import { nameOf } from '../../registry/names.ts';
import { PayloadType } from '../../registry/payload.ts';
import { TransformType } from '../../registry/transform.ts';
import type { Payload } from '../../wire/payload.ts';
import type { KePayload, NoncePayload, NotifyPayload, Proposal, ProposalSpec, SaPayload } from '../../wire/payloads/index.ts';
import { NotifyData } from '../../wire/payloads/index.ts';
import { acceptChild, completeChild, offerChild, type ChildOffer } from '../child-negotiation.ts';
import { childSummary, configOfChild, keMethodsOf, spiHex, type ChildSa, type NegotiatedChild } from '../child-sa.ts';
import type { ChildConfig } from '../config.ts';
import type { IkeSa, IkeSuite, Role } from '../ike-sa.ts';
import { ikeRekeyProposals, rekeyedIkeCrypto } from '../ike-rekey.ts';
import { lifetimeDeadlines, randomDelay, type LifetimeDeadlines } from '../lifetimes.ts';
import { findNotify, firstErrorNotify, PeerNotifyError, required, single } from '../messages.ts';
import { checkChosenProposal, offeredKeMethods, selectProposal } from '../proposals.ts';
import { acceptOptimizedChild, acceptOptimizedIke, canOptimizeChildRekey, canOptimizeIkeRekey, checkNotMixed, fallsBackToRegular, inheritedChild, isOptimizedRequest, optimizedRekeyNotifies, optimizedResponseSpi } from '../optimized-rekey.ts';
import { FALLBACK_RESOURCE, groupCapped, moveTsMaxQueue, noteTsMaxQueue, perResourceCount, resourceIdOf, resourceInfoNotify, resourceInfoOf, responderResource, type ResponderResource } from '../per-resource.ts';
import { ourRekeyWins, rekeyStateOf, type ExchangeNonces, type OwnRekey, type PeerCreated, type PendingFollowup, type PendingRetry } from '../rekey-state.ts';
import type { InboundMessage, InitiatorTask, ResponderHandler, ResponseSpec, TaskContext, TaskResult } from '../task.ts';
import { ikeSuiteOf } from './ike-sa-init.ts';
import { DeleteChildSasTask } from './informational.ts';
import { FollowupKeTask, type FollowupFlow } from './followup-ke.ts';

const IKE_SPI_SIZE = 8;
/** Retry after TEMPORARY_FAILURE: 2 to 5 s (strongSwan retries "later" with jitter). */
const RETRY_MIN_MS = 2000;
const RETRY_SPREAD_MS = 3000;

// --- shared -------------------------------------------------------------------------------

/** What an exchange is for, as queued by the API or a lifetime. */
export type CreateChildSaRequest =
  /** `resource`: RFC 9611 resource id (empty: the fallback SA); default per `config.perResource`. */
  | { readonly kind: 'new-child'; readonly config: ChildConfig; readonly resource?: Buffer }
  | { readonly kind: 'rekey-child'; readonly inboundSpi: Buffer }
  | { readonly kind: 'rekey-ike'; readonly proposals?: readonly ProposalSpec[] };

/** What the negotiation settled (both roles), before any key exchange round beyond the first. */
type Outcome =
  | { readonly kind: 'child'; readonly child: NegotiatedChild; readonly replaces: ChildSa | undefined }
  | { readonly kind: 'ike'; readonly suite: IkeSuite; readonly spiI: Buffer; readonly spiR: Buffer };

const methodsOf = (o: Outcome): number[] => (o.kind === 'child' ? keMethodsOf(o.child.proposal) : [o.suite.keMethod, ...o.suite.additionalKes]);

/** The local Child SA configuration of that name (the responder's own, not the peer's). */
const childConfigNamed = (sa: IkeSa, name: string): ChildConfig | undefined => sa.config?.children?.find((c) => c.name === name);

const hasTs = (p: readonly Payload[]): boolean => p.some((x) => x.type === PayloadType.TSi || x.type === PayloadType.TSr);

const childByInbound = (sa: IkeSa, spi: Buffer): ChildSa | undefined => sa.children.get(spi.toString('hex'));

function childByOutbound(sa: IkeSa, protocolId: number, spi: Buffer): ChildSa | undefined {
  for (const c of sa.children.values()) if (c.protocolId === protocolId && c.outboundSpi.equals(spi)) return c;
  return undefined;
}

function emitChildRekeyed(ctx: TaskContext, old: ChildSa, created: ChildSa): void {
  ctx.emit({ type: 'rekeyed', ikeSaId: ctx.sa.id, what: 'child', old: spiHex(old.inboundSpi), new: spiHex(created.inboundSpi), child: childSummary(created) });
}

/** Full retransmission span (§2.4): how long a peer may take to send what it owes us. */
function retransmitSpanMs(ctx: TaskContext): number {
  const { baseMs, factor, tries } = ctx.options.retransmit;
  let total = 0;
  for (let n = 0; n <= tries; n++) total += baseMs * factor ** n;
  return total;
}

/** Keys for the outcome: installs the Child SA, or registers the new IKE SA (not adopted yet). */
function createFromOutcome(ctx: TaskContext, role: Role, o: Outcome, nonces: ExchangeNonces, secrets: readonly Buffer[]): PeerCreated {
  try {
    if (o.kind === 'child') return { kind: 'child', child: ctx.installChild(o.child, nonces.ni, nonces.nr, secrets.length > 0 ? secrets : undefined, role) };
    const crypto = rekeyedIkeCrypto({ old: ctx.sa.requireCrypto(), suite: o.suite, role, secrets, ni: nonces.ni, nr: nonces.nr, spiI: o.spiI, spiR: o.spiR });
    return { kind: 'ike', ctx: ctx.spawnRekeyedIkeSa({ role, spiI: o.spiI, spiR: o.spiR, crypto }) };
  } finally {
    wipe(...secrets);
  }
}

/**
 * RFC 7296 §2.18: the Child SAs, their lifetimes and our queued exchanges go to the new IKE
 * SA (a queued IKE rekey is dropped: the new SA has fresh keys); pending IKE_FOLLOWUP_KE
 * state of the old SA is abandoned.
 */
function moveToNewIkeSa(oldCtx: TaskContext, next: TaskContext): void {
  const old = oldCtx.sa;
  for (const [key, child] of old.children) {
    next.sa.children.set(key, child);
    armChildLifetime(next, child);
  }
  old.children.clear();
  moveTsMaxQueue(old, next.sa);
  old.supersededBy = next.sa.id;
  const state = rekeyStateOf(old);
  state.abortFollowups();
  for (const retry of state.retries as Set<PendingRetry<CreateChildSaRequest>>) {
    if (retry.request.kind !== 'rekey-ike') scheduleRetry(next, retry.request, Math.max(0, retry.at - oldCtx.now()));
  }
  state.retries.clear();
  for (const task of old.takeTasks()) {
    if (task instanceof CreateChildSaTask && task.request.kind === 'rekey-ike') task.dispose();
    else next.queue(task);
  }
  oldCtx.emit({ type: 'rekeyed', ikeSaId: next.sa.id, what: 'ike', old: old.id, new: next.sa.id });
}

/** Starts the exchange again after `delayMs` (TEMPORARY_FAILURE, RFC 7296 §2.25). */
function scheduleRetry(ctx: TaskContext, request: CreateChildSaRequest, delayMs: number): void {
  const retries = rekeyStateOf(ctx.sa).retries;
  const entry: PendingRetry<CreateChildSaRequest> = { request, at: ctx.now() + delayMs };
  retries.add(entry);
  ctx.setTimer(delayMs, () => {
    if (retries.delete(entry) && ctx.sa.phase === 'established') ctx.queue(new CreateChildSaTask(request));
  });
}

/** The old IKE SA now waits for the peer's Delete; if none comes, it goes quietly. */
function awaitPeerDelete(ctx: TaskContext): void {
  if (ctx.sa.phase !== 'established') return;
  ctx.sa.advance('deleting');
  ctx.setTimer(retransmitSpanMs(ctx), () => ctx.close('rekeyed'));
}

/** RFC 7296 §3.10.1: Child SA error notifies the responder answers with; the SA stays. */
class Refusal extends Error {
  constructor(
    readonly notify: NotifyPayload,
    message: string,
  ) {
    super(message);
  }
}

const temporaryFailure = (why: string): Refusal => new Refusal(NotifyData.TEMPORARY_FAILURE.build(), why);

// --- initiator ----------------------------------------------------------------------------

type Stage = 'queued' | 'sent' | 'followups' | 'done' | 'failed';

/** A request's payloads around Ni/KEi, and the KE method to run. */
interface RequestParts {
  readonly head: Payload[];
  readonly tail: Payload[];
  readonly keMethod: number | undefined;
}

/**
 * One CREATE_CHILD_SA we start, from its request through its IKE_FOLLOWUP_KE rounds to the
 * installed SA (or its failure). It is also the "own rekey" a colliding peer rekey reports to.
 */
export class CreateChildSaTask implements InitiatorTask, FollowupFlow, OwnRekey {
  readonly exchangeType = ExchangeType.CREATE_CHILD_SA;
  readonly phases = ['established'] as const;
  readonly critical = false;
  readonly request: CreateChildSaRequest;
  readonly #preferredKe: number | undefined;
  /** A regular rekey even where an optimized one is possible (fallback, digest §D). */
  readonly #regular: boolean;
  #stage: Stage = 'queued';
  #ctx: TaskContext | undefined;
  // set while the request is out
  #old: ChildSa | undefined;
  #offer: ChildOffer | undefined;
  #ikeSpi: Buffer | undefined;
  #ikeProposals: Proposal[] | undefined;
  /** Optimized rekey: our new SPI (Child: inbound ESP SPI; IKE: the new IKE SPI). */
  #optimizedSpi: Buffer | undefined;
  /** RFC 9611 resource id of a new Child SA (empty: fallback). */
  #resource: Buffer | undefined;
  #ni: Buffer | undefined;
  #ke: KeInitiator | undefined;
  // set once the response arrived
  #outcome: Outcome | undefined;
  #nonces: ExchangeNonces | undefined;
  #secrets: Buffer[] = [];
  #rounds: InitiatorKeRounds | undefined;
  link: Buffer = Buffer.alloc(0);
  // collision with the peer's rekey of the same SA
  #peerNonces: ExchangeNonces | undefined;
  #peerCreated: PeerCreated | undefined;
  #decision: 'won' | 'lost' | undefined;
  #followedPeer = false;

  constructor(request: CreateChildSaRequest, opts: { readonly keMethod?: number; readonly regular?: boolean } = {}) {
    this.request = request;
    this.#preferredKe = opts.keMethod;
    this.#regular = opts.regular ?? false;
  }

  get name(): string {
    return { 'new-child': 'CREATE_CHILD_SA', 'rekey-child': 'REKEY_CHILD_SA', 'rekey-ike': 'REKEY_IKE_SA' }[this.request.kind];
  }

  get rounds(): InitiatorKeRounds {
    if (!this.#rounds) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: 'no additional key exchange negotiated' });
    return this.#rounds;
  }

  get continuing(): boolean {
    return this.#stage === 'followups' && this.#decision !== 'lost';
  }

  obsolete(ctx: TaskContext): boolean {
    const r = this.request;
    if (r.kind === 'rekey-child') return childByInbound(ctx.sa, r.inboundSpi)?.state !== 'installed';
    if (r.kind === 'rekey-ike') return ctx.sa.supersededBy !== undefined || rekeyStateOf(ctx.sa).ikeRekey !== undefined;
    // RFC 9611: after TS_MAX_QUEUE, no more per-resource SAs until the group shrinks.
    return (r.resource?.length ?? 0) > 0 && groupCapped(ctx.sa, r.config.name);
  }

  buildRequest(ctx: TaskContext): Payload[] {
    this.#ctx = ctx;
    const sa = ctx.sa;
    const state = rekeyStateOf(sa);
    const r = this.request;
    const ni = ctx.random(ctx.options.nonceLength);
    const parts = r.kind === 'rekey-ike' ? this.#ikeRekeyParts(ctx, r) : this.#childParts(ctx, r);
    if (r.kind === 'rekey-ike' && parts.keMethod === undefined) throw new GkmError('GKM_IKE_CONFIG', { field: 'proposals', detail: 'an IKE SA rekey needs a key exchange' });
    this.#ke = parts.keMethod === undefined ? undefined : createInitiatorKe(parts.keMethod);
    this.#ni = ni;
    const payloads: Payload[] = [...parts.head, { type: PayloadType.NONCE, nonce: ni } satisfies NoncePayload];
    if (this.#ke) payloads.push({ type: PayloadType.KE, method: this.#ke.method, data: this.#ke.publicData() } satisfies KePayload);
    payloads.push(...parts.tail);
    // From here on the SA counts as being rekeyed (collision detection, §2.8.1).
    if (r.kind === 'rekey-ike') state.ikeRekey = this;
    else state.ownChildExchanges++;
    if (this.#old) {
      this.#old.state = 'rekeying';
      state.childRekeys.set(this.#old.inboundSpi.toString('hex'), this);
    }
    this.#stage = 'sent';
    return payloads;
  }

  /** {SA(IKE, new SPIi)} (RFC 7296 §1.3.2), or {N(OPTIMIZED_REKEY, new SPIi)} (digest §D). */
  #ikeRekeyParts(ctx: TaskContext, r: Extract<CreateChildSaRequest, { kind: 'rekey-ike' }>): RequestParts {
    const sa = ctx.sa;
    const current = sa.requireCrypto().suite;
    this.#ikeSpi = ctx.allocateIkeSpi();
    if (!this.#regular && !r.proposals && canOptimizeIkeRekey(sa)) {
      this.#optimizedSpi = this.#ikeSpi;
      return { head: [optimizedRekeyNotifies(ctx.options).rekey.build(this.#ikeSpi)], tail: [], keMethod: current.keMethod };
    }
    this.#ikeProposals = ikeRekeyProposals(r.proposals ?? sa.config?.proposals ?? sa.initConfig.proposals, current, this.#ikeSpi);
    return { head: [{ type: PayloadType.SA, proposals: this.#ikeProposals } satisfies SaPayload], tail: [], keMethod: this.#pickKe(this.#ikeProposals, current.keMethod) };
  }

  /**
   * New Child SA {SA, Ni, [KEi], TSi, TSr, [N(SA_RESOURCE_INFO)]}; Child SA rekey
   * {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}, or optimized {N(REKEY_SA), N(OPTIMIZED_REKEY), Ni, [KEi]}.
   */
  #childParts(ctx: TaskContext, r: Exclude<CreateChildSaRequest, { kind: 'rekey-ike' }>): RequestParts {
    const sa = ctx.sa;
    if (r.kind === 'new-child') {
      this.#resource = r.resource ?? (perResourceCount(r.config) > 0 ? FALLBACK_RESOURCE : undefined);
      return this.#offerParts(ctx, r.config, [], undefined, this.#resource ? [resourceInfoNotify(this.#resource)] : []);
    }
    const old = childByInbound(sa, r.inboundSpi);
    if (!old || old.state !== 'installed') throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `Child SA ${r.inboundSpi.toString('hex')} cannot be rekeyed` });
    this.#old = old;
    const named = childConfigNamed(sa, old.name);
    // The rekey inherits the resource binding: no SA_RESOURCE_INFO (RFC 9611).
    const rekeySa = NotifyData.REKEY_SA.build({ protocolId: old.protocolId, spi: old.inboundSpi });
    if (!this.#regular && canOptimizeChildRekey(sa, old, named)) {
      this.#optimizedSpi = ctx.allocateChildSpi();
      return { head: [rekeySa, optimizedRekeyNotifies(ctx.options).rekey.build(this.#optimizedSpi)], tail: [], keMethod: old.keMethods[0] };
    }
    // RFC 7296 §2.8: TS and algorithms of the old SA (SHOULD NOT change).
    const config = { ...(named ?? configOfChild(old)), localTs: old.localTs, remoteTs: old.remoteTs, mode: old.mode };
    return this.#offerParts(ctx, config, [rekeySa], old.keMethods[0], []);
  }

  /** {head, [N(USE_TRANSPORT_MODE)], SA} Ni [KEi] {TSi, TSr, extra}. */
  #offerParts(ctx: TaskContext, config: ChildConfig, head: Payload[], inheritedKe: number | undefined, extra: Payload[]): RequestParts {
    this.#offer = offerChild(config, ctx.allocateChildSpi(), { withKe: true });
    const offered = this.#offer.payloads;
    const at = offered.findIndex((p) => p.type === PayloadType.SA) + 1;
    return { head: [...head, ...offered.slice(0, at)], tail: [...offered.slice(at), ...extra], keMethod: this.#pickKe(this.#offer.proposals, inheritedKe) };
  }

  /** The KE method for KEi: the one asked for (INVALID_KE_PAYLOAD), the old SA's, or the first offered. */
  #pickKe(proposals: readonly Proposal[], inherited: number | undefined): number | undefined {
    const offered = offeredKeMethods(proposals);
    return [this.#preferredKe, inherited].find((m) => m !== undefined && offered.includes(m)) ?? offered[0];
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    const p = res.payloads;
    const error = firstErrorNotify(p);
    if (error) return this.#refused(ctx, error);
    const nr = required<NoncePayload>(p, PayloadType.NONCE, 'Nr').nonce;
    const outcome = this.#negotiated(ctx, p);
    const methods = methodsOf(outcome);
    const ker = single<KePayload>(p, PayloadType.KE);
    const secrets: Buffer[] = [];
    if (methods.length > 0) {
      if (!this.#ke || !ker || ker.method !== methods[0] || ker.method !== this.#ke.method) {
        throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'KEr', detail: `method ${ker?.method}, sent ${this.#ke?.method}, chosen ${methods[0]}` });
      }
      secrets.push(this.#ke.complete(ker.data));
    }
    this.#ke?.dispose();
    this.#ke = undefined;
    this.#outcome = outcome;
    this.#nonces = { ni: this.#ni!, nr: Buffer.from(nr) };
    this.#secrets = secrets;
    if (methods.length > 1) {
      const link = findNotify(p, NotifyType.ADDITIONAL_KEY_EXCHANGE);
      if (!link) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'N(ADDITIONAL_KEY_EXCHANGE)', detail: 'additional key exchanges chosen but no link' });
      this.link = NotifyData.ADDITIONAL_KEY_EXCHANGE.parse(link);
      this.#rounds = new InitiatorKeRounds(methods.slice(1));
      this.#stage = 'followups';
      this.#decide(ctx);
      if (this.continuing) ctx.queue(new FollowupKeTask(this), { front: true });
      else this.failed();
      return 'done';
    }
    this.#decide(ctx);
    this.roundsDone(ctx);
    return 'done';
  }

  /** Our offer against the response: the Child SA or the new IKE SA's suite and SPIs. */
  #negotiated(ctx: TaskContext, p: readonly Payload[]): Outcome {
    if (this.#optimizedSpi) return this.#optimizedOutcome(ctx, p);
    if (this.#offer) {
      const child = completeChild(this.#offer, p, { withKe: true });
      return { kind: 'child', child: { ...child, resourceId: this.#old ? this.#old.resourceId : this.#resource }, replaces: this.#old };
    }
    const saP = required<SaPayload>(p, PayloadType.SA, 'SA');
    if (hasTs(p)) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'TSi/TSr', detail: 'in an IKE SA rekey' });
    const chosen = checkChosenProposal(saP.proposals, this.#ikeProposals!, IKE_SPI_SIZE);
    if (chosen.spi.equals(Buffer.alloc(IKE_SPI_SIZE))) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA.spi', detail: 'zero IKE SPI' });
    const suite = ikeSuiteOf(chosen);
    if (suite.prfId !== ctx.sa.requireCrypto().suite.prfId) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA', detail: 'PRF changed' });
    return { kind: 'ike', suite, spiI: this.#ikeSpi!, spiR: Buffer.from(chosen.spi) };
  }

  /** Optimized rekey: the old SA (or the IKE SA) with the responder's new SPI; everything else inherited. */
  #optimizedOutcome(ctx: TaskContext, p: readonly Payload[]): Outcome {
    const codecs = optimizedRekeyNotifies(ctx.options);
    const old = this.#old;
    if (old) return { kind: 'child', child: inheritedChild(old, this.#optimizedSpi!, optimizedResponseSpi(p, codecs, 'child', old.keMethods[0])), replaces: old };
    const suite = ctx.sa.requireCrypto().suite;
    return { kind: 'ike', suite, spiI: this.#ikeSpi!, spiR: optimizedResponseSpi(p, codecs, 'ike', suite.keMethod) };
  }

  /** An error notify instead of the SA (RFC 7296 §1.3, §2.25, RFC 9370 §2.2.4). */
  #refused(ctx: TaskContext, error: NotifyPayload): TaskResult {
    const n = error.notifyType;
    if (this.#optimizedSpi && fallsBackToRegular(error)) {
      this.failed();
      ctx.queue(new CreateChildSaTask(this.request, { regular: true }), { front: true }); // digest §D: retry as a regular rekey
      return 'done';
    }
    // RFC 9611: the peer takes no more SAs for this TS set; stop asking (obsolete()).
    if (n === NotifyType.TS_MAX_QUEUE && this.request.kind === 'new-child') noteTsMaxQueue(ctx.sa, this.request.config.name);
    if (n === NotifyType.INVALID_KE_PAYLOAD) {
      const wanted = NotifyData.INVALID_KE_PAYLOAD.parse(error);
      const offered = offeredKeMethods(this.#offer?.proposals ?? this.#ikeProposals ?? []);
      if (offered.includes(wanted) && wanted !== this.#ke?.method) {
        this.failed();
        ctx.queue(new CreateChildSaTask(this.request, { keMethod: wanted }), { front: true }); // a new exchange, new MID (§1.3)
        return 'done';
      }
    }
    if (n === NotifyType.TEMPORARY_FAILURE) {
      this.failed();
      scheduleRetry(ctx, this.request, randomDelay(RETRY_MIN_MS, RETRY_SPREAD_MS, ctx.random));
      return 'done';
    }
    const old = this.#old;
    this.failed();
    if (n === NotifyType.CHILD_SA_NOT_FOUND && old && ctx.sa.children.has(old.inboundSpi.toString('hex'))) ctx.removeChild(old, 'peer');
    throw new PeerNotifyError(error, this.name);
  }

  // --- collisions (RFC 7296 §2.8.1) ---

  peerRekeyStarted(nonces: ExchangeNonces): void {
    this.#peerNonces = nonces;
    if (this.#ctx) this.#decide(this.#ctx);
  }

  peerRekeyCompleted(created: PeerCreated): void {
    this.#peerCreated = created;
    if (this.#ctx && (this.#decision === 'lost' || this.#stage === 'failed')) this.#followPeer(this.#ctx);
  }

  #decide(ctx: TaskContext): void {
    if (!this.#nonces || !this.#peerNonces || this.#decision) return;
    this.#decision = ourRekeyWins(this.#nonces, this.#peerNonces) ? 'won' : 'lost';
    if (this.#decision === 'lost' && this.#stage === 'followups') this.#followPeer(ctx);
  }

  /** Ours is redundant or failed: the peer's rekey is the real one (it deletes the old SA). */
  #followPeer(ctx: TaskContext): void {
    const old = this.#old;
    if (old?.state === 'rekeying') old.state = 'rekeyed'; // replaced by the peer's rekey, which deletes it
    const created = this.#peerCreated;
    if (!created || this.#followedPeer) return;
    this.#followedPeer = true;
    if (created.kind === 'child') {
      if (old) emitChildRekeyed(ctx, old, created.child);
      return;
    }
    if (!ctx.sa.isOpen || ctx.sa.supersededBy !== undefined) return;
    moveToNewIkeSa(ctx, created.ctx);
    awaitPeerDelete(ctx);
  }

  // --- completion ---

  roundsDone(ctx: TaskContext): void {
    const outcome = this.#outcome!;
    const nonces = this.#nonces!;
    const secrets = [...this.#secrets, ...(this.#rounds?.secrets ?? []).map((s) => Buffer.from(s))];
    this.#secrets = [];
    this.#release();
    this.#stage = 'done';
    const created = createFromOutcome(ctx, 'initiator', outcome, nonces, secrets);
    const lost = this.#decision === 'lost';
    if (created.kind === 'child') {
      const old = this.#old;
      // RFC 9611: the fallback SA is up; now one SA per resource.
      if (!old && this.#resource?.length === 0 && this.request.kind === 'new-child') queuePerResourceSas(ctx, this.request.config);
      if (lost) {
        created.child.state = 'deleting'; // the redundant SA (§2.8.1); the peer deletes the old one
        ctx.queue(new DeleteChildSasTask([created.child], [], 'rekeyed'));
        this.#followPeer(ctx);
      } else if (old && ctx.sa.children.get(old.inboundSpi.toString('hex')) === old && old.state !== 'deleting') {
        old.state = 'deleting';
        emitChildRekeyed(ctx, old, created.child);
        ctx.queue(new DeleteChildSasTask([old], [], 'rekeyed'));
      }
      return;
    }
    if (lost) {
      created.ctx.deleteIkeSa(); // redundant IKE SA: deleted over itself
      this.#followPeer(ctx);
      return;
    }
    moveToNewIkeSa(ctx, created.ctx);
    ctx.deleteIkeSa(); // RFC 7296 §2.18: the rekey's initiator deletes the old IKE SA
  }

  /** Drops the bookkeeping of an exchange in flight (secrets wiped, rekey marks cleared). */
  #release(): void {
    this.#ke?.dispose();
    this.#ke = undefined;
    this.#rounds?.dispose();
    wipe(...this.#secrets);
    this.#secrets = [];
    const sa = this.#ctx?.sa;
    if (!sa || this.#stage === 'queued' || this.#stage === 'done' || this.#stage === 'failed') return;
    const state = rekeyStateOf(sa);
    if (this.request.kind === 'rekey-ike') {
      if (state.ikeRekey === this) state.ikeRekey = undefined;
    } else {
      state.ownChildExchanges--;
    }
    if (this.#old && state.childRekeys.get(this.#old.inboundSpi.toString('hex')) === this) {
      state.childRekeys.delete(this.#old.inboundSpi.toString('hex'));
    }
  }

  /** The exchange ends without an SA of ours: SPI released, the old SA usable again. */
  failed(): void {
    if (this.#stage === 'done' || this.#stage === 'failed') return;
    const ctx = this.#ctx;
    this.#release();
    this.#stage = 'failed';
    if (this.#offer && ctx) ctx.releaseChildSpi(this.#offer.inboundSpi);
    if (this.#optimizedSpi && this.#old && ctx) ctx.releaseChildSpi(this.#optimizedSpi);
    if (this.#peerNonces) {
      if (ctx) this.#followPeer(ctx);
      return; // the peer's rekey replaces the SA
    }
    if (this.#old?.state === 'rekeying') this.#old.state = 'installed';
  }

  dispose(): void {
    this.failed();
  }
}

// --- responder ----------------------------------------------------------------------------

interface ParsedRequest {
  /** Absent in an optimized rekey (digest §D). */
  readonly sa: SaPayload | undefined;
  readonly ni: Buffer;
  readonly ke: KePayload | undefined;
  readonly rekeySa: NotifyPayload | undefined;
  readonly ike: boolean;
}

function parseRequest(ctx: TaskContext, p: readonly Payload[]): ParsedRequest {
  const codecs = optimizedRekeyNotifies(ctx.options);
  const optimized = isOptimizedRequest(p, codecs);
  const sa = optimized ? undefined : required<SaPayload>(p, PayloadType.SA, 'SA');
  const ni = required<NoncePayload>(p, PayloadType.NONCE, 'Ni').nonce;
  const ke = single<KePayload>(p, PayloadType.KE);
  const rekeySa = findNotify(p, NotifyType.REKEY_SA);
  // Optimized: REKEY_SA names the Child SA; without it the IKE SA is rekeyed.
  if (!sa) return { sa, ni, ke, rekeySa, ike: !rekeySa };
  checkNotMixed(ctx.sa, p, codecs);
  const protocols = new Set(sa.proposals.map((x) => x.protocolId));
  if (protocols.size !== 1) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA', detail: 'proposals of several protocols' });
  const ike = protocols.has(ProtocolId.IKE);
  if (ike && (rekeySa || hasTs(p))) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA', detail: 'IKE SA rekey with REKEY_SA or TS' });
  return { sa, ni, ke, rekeySa, ike };
}

/** Type-4 KE of the chosen proposal against KEi (RFC 7296 §1.3: INVALID_KE_PAYLOAD names the method). */
function checkKe(methods: readonly number[], ke: KePayload | undefined): void {
  const m = methods[0];
  if (m === undefined) return; // no PFS chosen: a KEi sent anyway is not used
  if (!ke || ke.method !== m) {
    throw new GkmError('GKM_IKE_INVALID_KE', { field: 'KE', detail: `got ${ke?.method}, want ${m}`, notifyData: Buffer.of(m >> 8, m & 0xff) });
  }
}

/** The responder's view of an accepted request, before the key exchange. */
interface Accepted {
  readonly outcome: Outcome;
  /** Response payloads; Nr, KEr (and the link) are inserted at `nonceAt`. */
  readonly payloads: Payload[];
  /** After SA; after N(OPTIMIZED_REKEY) in an optimized rekey. */
  readonly nonceAt: number;
  /** Undo: release the SPI we allocated. */
  readonly release: () => void;
}

const afterSa = (payloads: readonly Payload[]): number => payloads.findIndex((x) => x.type === PayloadType.SA) + 1;

function acceptIkeRekey(ctx: TaskContext, req: ParsedRequest, offer: SaPayload): Accepted {
  const current = ctx.sa.requireCrypto().suite;
  const ours = ikeRekeyProposals(ctx.sa.config?.proposals ?? ctx.sa.initConfig.proposals, current);
  const prefer = req.ke ? new Map([[TransformType.KE, req.ke.method]]) : undefined;
  const chosen = selectProposal(offer.proposals, ours, { protocolId: ProtocolId.IKE, ...(prefer ? { prefer } : {}) });
  if (chosen.spi.length !== IKE_SPI_SIZE || chosen.spi.equals(Buffer.alloc(IKE_SPI_SIZE))) {
    throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA.spi', detail: 'an IKE SA rekey needs a non-zero 8-octet SPI' });
  }
  const suite = ikeSuiteOf(chosen);
  checkKe([suite.keMethod], req.ke);
  const spiR = ctx.allocateIkeSpi();
  return {
    outcome: { kind: 'ike', suite, spiI: Buffer.from(chosen.spi), spiR },
    payloads: [{ type: PayloadType.SA, proposals: [{ ...chosen, spi: spiR }] } satisfies SaPayload],
    nonceAt: 1,
    release: () => undefined,
  };
}

function acceptChildSa(ctx: TaskContext, req: ParsedRequest, p: readonly Payload[], old: ChildSa | undefined): Accepted {
  const sa = ctx.sa;
  const named = old ? childConfigNamed(sa, old.name) ?? configOfChild(old) : undefined;
  const configs = named ? [named] : sa.config?.children ?? [];
  const accepted = acceptChild(configs, p, () => ctx.allocateChildSpi(), { withKe: true, ...(req.ke ? { preferKe: req.ke.method } : {}) });
  const release = (): void => ctx.releaseChildSpi(accepted.child.inboundSpi);
  let resource: ResponderResource = { kind: 'none' };
  try {
    checkKe(keMethodsOf(accepted.child.proposal), req.ke);
    // RFC 9611: a new SA may join a per-resource group; a rekey inherits the old SA's binding.
    const config = configs.find((c) => c.name === accepted.child.name);
    if (!old && config) resource = responderResource(sa, config, accepted.child, resourceInfoOf(p));
    if (resource.kind === 'full') throw new Refusal(NotifyData.TS_MAX_QUEUE.build(), `per-resource Child SA limit of ${accepted.child.name} reached`);
  } catch (e) {
    release();
    throw e;
  }
  const resourceId = resource.kind === 'accept' ? resource.resourceId : old?.resourceId;
  const payloads = resource.kind === 'accept' ? [...accepted.payloads, resourceInfoNotify(resource.resourceId)] : accepted.payloads;
  return { outcome: { kind: 'child', child: { ...accepted.child, resourceId }, replaces: old }, payloads, nonceAt: afterSa(payloads), release };
}

/** Optimized Child SA rekey (digest §D): {N(OPTIMIZED_REKEY, new SPIr)}, the rest inherited. */
function acceptOptimizedChildRekey(ctx: TaskContext, p: readonly Payload[], old: ChildSa): Accepted {
  const a = acceptOptimizedChild(ctx.sa, old, p, optimizedRekeyNotifies(ctx.options), childConfigNamed(ctx.sa, old.name), () => ctx.allocateChildSpi());
  return { outcome: { kind: 'child', child: a.child, replaces: old }, payloads: a.payloads, nonceAt: a.payloads.length, release: () => ctx.releaseChildSpi(a.child.inboundSpi) };
}

/** Optimized IKE SA rekey (digest §D): {N(OPTIMIZED_REKEY, new SPIr)}, suite inherited. */
function acceptOptimizedIkeRekey(ctx: TaskContext, p: readonly Payload[]): Accepted {
  const a = acceptOptimizedIke(ctx.sa, p, optimizedRekeyNotifies(ctx.options), () => ctx.allocateIkeSpi());
  return { outcome: { kind: 'ike', suite: a.suite, spiI: a.spiI, spiR: a.spiR }, payloads: a.payloads, nonceAt: a.payloads.length, release: () => undefined };
}

function accept(ctx: TaskContext, req: ParsedRequest, p: readonly Payload[], old: ChildSa | undefined): Accepted {
  if (req.sa) return req.ike ? acceptIkeRekey(ctx, req, req.sa) : acceptChildSa(ctx, req, p, old);
  if (req.ike) return acceptOptimizedIkeRekey(ctx, p);
  if (!old) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: 'optimized Child SA rekey without the old SA' }); // admit() found it
  return acceptOptimizedChildRekey(ctx, p, old);
}

/** TEMPORARY_FAILURE / CHILD_SA_NOT_FOUND / NO_ADDITIONAL_SAS checks; the old SA for a rekey. */
function admit(ctx: TaskContext, req: ParsedRequest): ChildSa | undefined {
  const sa = ctx.sa;
  const state = rekeyStateOf(sa);
  if (sa.phase !== 'established' || sa.supersededBy !== undefined) throw temporaryFailure('the IKE SA is being deleted');
  if (req.ike) {
    if (state.childExchangesInProgress) throw temporaryFailure('Child SA exchanges in progress');
    if (state.ikeRekeyInProgress && !state.ikeRekey) throw temporaryFailure('an IKE SA rekey is already in progress');
    return undefined;
  }
  if (state.ikeRekeyInProgress) throw temporaryFailure('the IKE SA is being rekeyed');
  if (!req.rekeySa) {
    if (sa.children.size >= ctx.options.maxChildSas) throw new Refusal(NotifyData.NO_ADDITIONAL_SAS.build(), 'Child SA limit reached');
    return undefined;
  }
  const ref = NotifyData.REKEY_SA.parse(req.rekeySa);
  const old = childByOutbound(sa, ref.protocolId, ref.spi); // the peer names its inbound SPI, our outbound
  if (!old) throw new Refusal(NotifyData.CHILD_SA_NOT_FOUND.build(ref), `no Child SA with SPI ${ref.spi.toString('hex')}`);
  if (old.state === 'deleting' || old.state === 'rekeyed') throw temporaryFailure(`Child SA ${spiHex(old.inboundSpi)} is ${old.state}`);
  return old;
}

/** The peer's exchange is complete on our side (after its last round). */
function completeAsResponder(ctx: TaskContext, o: Outcome, nonces: ExchangeNonces, secrets: readonly Buffer[]): void {
  const state = rekeyStateOf(ctx.sa);
  const created = createFromOutcome(ctx, 'responder', o, nonces, secrets);
  if (created.kind === 'child') {
    const old = o.kind === 'child' ? o.replaces : undefined;
    if (!old) return;
    const own = state.childRekeys.get(old.inboundSpi.toString('hex'));
    if (own) return own.peerRekeyCompleted(created);
    if (old.state === 'installed') old.state = 'rekeyed'; // the peer deletes it (§2.8)
    emitChildRekeyed(ctx, old, created.child);
    return;
  }
  if (state.ikeRekey) return state.ikeRekey.peerRekeyCompleted(created);
  moveToNewIkeSa(ctx, created.ctx);
  awaitPeerDelete(ctx);
}

/** Responder state between CREATE_CHILD_SA and the last IKE_FOLLOWUP_KE (RFC 9370 §2.2.4). */
function pendingFollowup(ctx: TaskContext, a: Accepted, nonces: ExchangeNonces, sk0: Buffer, methods: readonly number[], link: string): PendingFollowup {
  const rounds = new ResponderKeRounds(methods);
  const secrets = [sk0];
  let open = true;
  const expiry = ctx.setTimer(retransmitSpanMs(ctx), () => {
    const followups = rekeyStateOf(ctx.sa).followups;
    followups.get(link)?.abort();
    followups.delete(link);
  });
  const end = (): void => {
    open = false;
    expiry.cancel();
    rounds.dispose();
    wipe(...secrets);
  };
  return {
    ikeRekey: a.outcome.kind === 'ike',
    get nextMethod() {
      return rounds.nextMethod;
    },
    answer(_method, initiatorData) {
      const data = rounds.answer(initiatorData);
      if (!rounds.done) return { data, complete: undefined };
      const all = [...secrets, ...rounds.secrets].map((s) => Buffer.from(s));
      return {
        data,
        complete: () => {
          end();
          completeAsResponder(ctx, a.outcome, nonces, all);
        },
      };
    },
    abort() {
      if (!open) return;
      end();
      a.release();
    },
  };
}

export const createChildSaResponder: ResponderHandler = {
  exchangeType: ExchangeType.CREATE_CHILD_SA,
  phases: ['established', 'deleting'],
  handle(ctx: TaskContext, request: InboundMessage): ResponseSpec {
    const p = request.payloads;
    const req = parseRequest(ctx, p); // INVALID_SYNTAX before anything else
    let accepted: Accepted;
    let old: ChildSa | undefined;
    try {
      old = admit(ctx, req);
      accepted = accept(ctx, req, p, old);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e; // GkmErrors: NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, INVALID_KE_PAYLOAD, ...
      ctx.emit({ type: 'error', ikeSaId: ctx.sa.id, code: 'GKM_IKE_INVALID_STATE', notify: e.notify.notifyType, notifyName: nameOf(NotifyType, e.notify.notifyType), message: e.message });
      return { payloads: [e.notify] };
    }
    const methods = methodsOf(accepted.outcome);
    let sk0: Buffer | undefined;
    let ker: KePayload | undefined;
    if (methods[0] !== undefined && req.ke) {
      let reply: ReturnType<typeof respondKe>;
      try {
        reply = respondKe(methods[0], req.ke.data); // GKM_CRYPTO_INVALID_KE -> INVALID_SYNTAX
      } catch (e) {
        accepted.release();
        throw e;
      }
      sk0 = reply.sharedSecret;
      ker = { type: PayloadType.KE, method: methods[0], data: reply.publicData };
    }
    const nonces: ExchangeNonces = { ni: Buffer.from(req.ni), nr: ctx.random(ctx.options.nonceLength) };
    const extra: Payload[] = [{ type: PayloadType.NONCE, nonce: nonces.nr } satisfies NoncePayload];
    if (ker) extra.push(ker);
    const at = accepted.nonceAt;
    const payloads = [...accepted.payloads.slice(0, at), ...extra, ...accepted.payloads.slice(at)];
    // A rekey of an SA we are rekeying ourselves: a collision, decided by the nonces (§2.8.1).
    const state = rekeyStateOf(ctx.sa);
    const own = req.ike ? state.ikeRekey : old ? state.childRekeys.get(old.inboundSpi.toString('hex')) : undefined;
    own?.peerRekeyStarted(nonces);
    if (methods.length > 1 && sk0) {
      const link = ctx.random(8);
      state.followups.set(link.toString('hex'), pendingFollowup(ctx, accepted, nonces, sk0, methods.slice(1), link.toString('hex')));
      payloads.push(NotifyData.ADDITIONAL_KEY_EXCHANGE.build(link));
      return { payloads };
    }
    if (req.ike) return { payloads, afterSend: () => completeAsResponder(ctx, accepted.outcome, nonces, sk0 ? [sk0] : []) };
    completeAsResponder(ctx, accepted.outcome, nonces, sk0 ? [sk0] : []);
    return { payloads };
  },
};

// --- RFC 9611 -------------------------------------------------------------------------------

/** After the fallback SA: one CREATE_CHILD_SA per resource, ids 0..n-1 (digest §C). */
export function queuePerResourceSas(ctx: TaskContext, config: ChildConfig): void {
  for (let i = 0; i < perResourceCount(config); i++) ctx.queue(new CreateChildSaTask({ kind: 'new-child', config, resource: resourceIdOf(i) }));
}

// --- lifetimes ------------------------------------------------------------------------------

/**
 * SA lifetimes (RFC 7296 §2.8). Soft: rekey (the IKE SA, §2.18, or a Child SA); hard: delete
 * (the IKE SA with its Child SAs, or the Child SA). An IKE SA has one lifetime timer for its
 * own deadlines and those of all its Child SAs, armed for the earliest (`lifetimeTimer`, due at
 * `lifetimeDue`; re-armed when an earlier deadline comes, e.g. a Child SA installed): a timer
 * entry is 80 B, and almost every SA holds a Child SA. The deadlines are numbers: the IKE SA's
 * on the IkeSa (`ikeRekeyAt`, `ikeExpireAt`, -1 once passed or without a lifetime), a Child
 * SA's on its record, fixed at installation and kept across a move to a rekeyed IKE SA (where
 * its soft deadline is due again, as its timer was re-armed there before). The soft deadline
 * comes first, then the hard one. The handler is a module function: no closure per SA.
 */
export function armChildLifetime(ctx: TaskContext, child: ChildSa): void {
  if (!child.lifetime) {
    const l = childConfigNamed(ctx.sa, child.name)?.lifetime;
    if (!l) return;
    child.lifetime = lifetimeDeadlines(l, ctx.now(), ctx.random);
  }
  child.lifetimeStage = 'soft';
  armLifetimes(ctx);
}

/**
 * Fixes the IKE SA's deadlines; armLifetimes() arms them. The engine does that once the
 * establishing exchange is over, after its Child SA is installed: arming for the IKE SA and
 * again for its earlier Child SA would leave a cancelled entry per SA in the timer queue.
 */
export function setIkeLifetime(ctx: TaskContext): void {
  const l = ctx.sa.config?.ikeLifetime;
  if (!l) return;
  const d = lifetimeDeadlines(l, ctx.now(), ctx.random);
  ctx.sa.ikeRekeyAt = d.rekeyAt;
  ctx.sa.ikeExpireAt = d.expireAt;
}

/** The next deadline of a Child SA, or -1 when none is left. */
function childDeadline(child: ChildSa): number {
  const d = child.lifetime;
  if (!d || child.lifetimeStage === 'done') return -1;
  return child.lifetimeStage === 'hard' ? d.expireAt : d.rekeyAt;
}

/** The earliest deadline of the IKE SA and its Child SAs (-1: none). */
function nextDeadline(sa: IkeSa): number {
  let next = sa.ikeRekeyAt >= 0 ? sa.ikeRekeyAt : sa.ikeExpireAt;
  for (const child of sa.children.values()) {
    const at = childDeadline(child);
    if (at >= 0 && (next < 0 || at < next)) next = at;
  }
  return next;
}

/** (Re-)arms the SA's lifetime timer for its earliest deadline, unless armed for that or earlier. */
export function armLifetimes(ctx: TaskContext): void {
  const sa = ctx.sa;
  const next = nextDeadline(sa);
  if (next < 0 || (sa.lifetimeTimer !== undefined && sa.lifetimeDue <= next)) return;
  sa.lifetimeTimer?.cancel();
  sa.lifetimeDue = next;
  sa.lifetimeTimer = ctx.setTimerWith(Math.max(0, next - ctx.now()), lifetimesDue, undefined);
}

function lifetimesDue(ctx: TaskContext): void {
  const sa = ctx.sa;
  sa.lifetimeTimer = undefined;
  sa.lifetimeDue = -1;
  const now = ctx.now();
  if (sa.phase !== 'established') return;
  if (sa.supersededBy !== undefined) {
    sa.ikeRekeyAt = -1; // rekeyed: the new IKE SA has its own lifetime
    sa.ikeExpireAt = -1;
  } else if (sa.ikeRekeyAt >= 0) {
    if (sa.ikeRekeyAt <= now) {
      sa.ikeRekeyAt = -1;
      ctx.queue(new CreateChildSaTask({ kind: 'rekey-ike' }));
    }
  } else if (sa.ikeExpireAt >= 0 && sa.ikeExpireAt <= now) {
    sa.ikeExpireAt = -1;
    ctx.deleteIkeSa();
    return;
  }
  for (const child of [...sa.children.values()]) {
    if (sa.phase !== 'established') return;
    const at = childDeadline(child);
    if (at < 0 || at > now) continue;
    if (child.lifetimeStage === 'soft') {
      child.lifetimeStage = 'hard';
      if (child.state === 'installed') ctx.queue(new CreateChildSaTask({ kind: 'rekey-child', inboundSpi: child.inboundSpi }));
    } else {
      child.lifetimeStage = 'done';
      if (child.state === 'deleting') continue;
      child.state = 'deleting';
      ctx.queue(new DeleteChildSasTask([child], [], 'expired'));
    }
  }
  if (sa.phase === 'established') armLifetimes(ctx);
}
