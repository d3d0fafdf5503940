/**
 * IKE_AUTH (RFC 7296 §1.2, §2.15, §2.21.2; RFC 7427; RFC 6023; RFC 4945 identities):
 *
 *   HDR, SK{IDi, [CERT+,] [N(INITIAL_CONTACT),] [CERTREQ,] [IDr,] AUTH, [SAi2, TSi, TSr]}  -->
 *                                     <--  HDR, SK{IDr, [CERT+,] AUTH, [SAr2, TSi, TSr]}
 *
 * The responder verifies AUTH before anything else takes effect; a failure is answered with
 * N(AUTHENTICATION_FAILED) alone and the IKE SA is gone. A Child SA failure (NO_PROPOSAL_CHOSEN,
 * TS_UNACCEPTABLE) leaves the IKE SA up (§2.21.2). An initiator that cannot verify the
 * responder sends an INFORMATIONAL N(AUTHENTICATION_FAILED) and deletes the SA.
 *
 * Extensions here: N(OPTIMIZED_REKEY_SUPPORTED) in request and response (digest §D), and
 * N(SA_RESOURCE_INFO) without data for the fallback SA of a per-resource child (RFC 9611),
 * whose per-resource SAs follow in CREATE_CHILD_SA.
 */
import { GkmError, isGkmError } from '../../errors.ts';
import { ExchangeType } from '../../registry/exchange.ts';
import { NotifyType } from '../../registry/notify.ts';
import { nameOf } from '../../registry/names.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { Payload } from '../../wire/payload.ts';
import type { AuthPayload, CertPayload, IdiPayload, IdrPayload, NotifyPayload } from '../../wire/payloads/index.ts';
import { certReqPayload, NotifyData } from '../../wire/payloads/index.ts';
import { localAuthPayloads, verifyPeerAuth } from '../auth.ts';
import { caHash } from '../certificates.ts';
import { acceptChild, childErrorNotify, childRequestParts, completeChild, offerChild, type ChildOffer } from '../child-negotiation.ts';
import { DEFAULT_SIGNATURE_HASHES, type PeerConfig } from '../config.ts';
import { idPayload, identityOf, sameIdentity } from '../identity.ts';
import { errorNotifyFor, firstErrorNotify, hasNotify, PeerNotifyError, required, single } from '../messages.ts';
import { optimizedRekeyNotifies, optimizedRekeyWanted } from '../optimized-rekey.ts';
import { FALLBACK_RESOURCE, perResourceCount, resourceInfoNotify, resourceInfoOf, responderResource } from '../per-resource.ts';
import type { InboundMessage, InitiatorTask, ResponderHandler, ResponseSpec, TaskContext, TaskResult } from '../task.ts';
import { queuePerResourceSas } from './create-child-sa.ts';

const certsOf = (payloads: readonly Payload[]): CertPayload[] => payloads.filter((p): p is CertPayload => p.type === PayloadType.CERT);

/** CERTREQ naming our trust anchors, when we verify certificates (RFC 7296 §3.7). */
function certRequests(config: PeerConfig): Payload[] {
  const cas = config.remoteAuth.method === 'signature' ? config.remoteAuth.trustedCas ?? [] : [];
  return cas.length > 0 ? [certReqPayload(cas.map(caHash))] : [];
}

// --- initiator ----------------------------------------------------------------------------

/** What an initiator's exchange task learns from the checks of establishOnResponderAuth. */
export interface ResponderAuthHooks {
  /** The responder sent an error notify without AUTH: no IKE SA (called before the throw). */
  refused?(error: NotifyPayload): void;
  /** The responder's AUTH did not verify (called before the IKE SA is closed). */
  authFailed?(error: GkmError): void;
}

/**
 * The initiator's side of an IKE_AUTH-like response (IKE_AUTH; G-IKEv2's GSA_AUTH, RFC 9838
 * §2.3.1, authenticates exactly the same way): an error notify without AUTH throws
 * PeerNotifyError; an AUTH that fails closes the IKE SA with an INFORMATIONAL
 * AUTHENTICATION_FAILED (RFC 7296 §2.21.2) and returns false; otherwise the IKE SA is
 * established with the responder's identity and true is returned.
 */
export function establishOnResponderAuth(ctx: TaskContext, config: PeerConfig, p: readonly Payload[], exchange: string, hooks: ResponderAuthHooks = {}): boolean {
  const auth = single<AuthPayload>(p, PayloadType.AUTH);
  const error = firstErrorNotify(p);
  if (!auth && error) {
    hooks.refused?.(error);
    throw new PeerNotifyError(error, exchange);
  }
  const idr = required<IdrPayload>(p, PayloadType.IDr, 'IDr');
  try {
    verifyPeerAuth(ctx.sa, config.remoteAuth, 'responder', {
      id: idr,
      auth: required<AuthPayload>(p, PayloadType.AUTH, 'AUTH'),
      certs: certsOf(p),
      expectedId: config.remoteId,
      acceptedHashes: config.signatureHashes ?? DEFAULT_SIGNATURE_HASHES,
      at: ctx.wallClock(),
    });
  } catch (e) {
    if (!isGkmError(e, 'GKM_IKE_AUTHENTICATION_FAILED')) throw e;
    hooks.authFailed?.(e);
    // RFC 7296 §2.21.2: tell the responder in an INFORMATIONAL, then the IKE SA is gone.
    ctx.close('auth-failed', e, NotifyData.AUTHENTICATION_FAILED.build());
    return false;
  }
  ctx.establish({ config, localId: config.localId, remoteId: identityOf(idr) });
  return true;
}

/**
 * The responder's side of an authenticating exchange (IKE_AUTH, RFC 9838 GSA_AUTH), once the
 * peer's configuration is known: checks the initiator's AUTH (RFC 7296 §2.15), establishes the
 * IKE SA, honours INITIAL_CONTACT (§2.4) and returns the responder's IDr, CERT and AUTH payloads.
 */
export function establishOnInitiatorAuth(ctx: TaskContext, config: PeerConfig, p: readonly Payload[], idi: IdiPayload, auth: AuthPayload): Payload[] {
  const sa = ctx.sa;
  const peerId = identityOf(idi);
  verifyPeerAuth(sa, config.remoteAuth, 'initiator', {
    id: idi,
    auth,
    certs: certsOf(p),
    expectedId: config.remoteId,
    acceptedHashes: sa.initConfig.signatureHashes ?? DEFAULT_SIGNATURE_HASHES,
    at: ctx.wallClock(),
  });
  ctx.establish({ config, localId: config.localId, remoteId: peerId });
  if (hasNotify(p, NotifyType.INITIAL_CONTACT)) ctx.purgeOtherSas(peerId);
  const idr = idPayload(PayloadType.IDr, config.localId);
  const local = localAuthPayloads(sa, config.localAuth, 'responder', idr);
  return [idr, ...local.certs, local.auth];
}

export class IkeAuthTask implements InitiatorTask {
  readonly name = 'IKE_AUTH';
  readonly exchangeType: number = ExchangeType.IKE_AUTH;
  readonly phases = ['keyed'] as const;
  readonly critical = true;
  readonly #config: PeerConfig;
  #offer: ChildOffer | undefined;
  #ctx: TaskContext | undefined;

  constructor(config: PeerConfig) {
    this.#config = config;
  }

  buildRequest(ctx: TaskContext): Payload[] {
    this.#ctx = ctx;
    const config = this.#config;
    const idi = idPayload(PayloadType.IDi, config.localId);
    const local = localAuthPayloads(ctx.sa, config.localAuth, 'initiator', idi);
    const payloads: Payload[] = [idi, ...local.certs];
    if (config.initialContact !== false) payloads.push(NotifyData.INITIAL_CONTACT.build());
    payloads.push(...certRequests(config));
    if (config.remoteId) payloads.push(idPayload(PayloadType.IDr, config.remoteId));
    payloads.push(local.auth);
    const child = config.children?.[0];
    if (child) {
      this.#offer = offerChild(child, ctx.allocateChildSpi());
      payloads.push(...this.#offer.payloads);
      if (perResourceCount(child) > 0) payloads.push(resourceInfoNotify(FALLBACK_RESOURCE));
    } else if (!ctx.sa.extensions.childless) {
      throw new GkmError('GKM_IKE_CONFIG', { field: 'children', detail: 'no Child SA configured and the peer does not support childless IKE SAs (RFC 6023)' });
    }
    if (optimizedRekeyWanted(ctx.options, config)) payloads.push(optimizedRekeyNotifies(ctx.options).supported.build());
    return payloads;
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    const p = res.payloads;
    const config = this.#config;
    if (!establishOnResponderAuth(ctx, config, p, 'IKE_AUTH')) return 'done';
    ctx.sa.extensions.optimizedRekey = optimizedRekeyWanted(ctx.options, config) && hasNotify(p, optimizedRekeyNotifies(ctx.options).supported.notifyType);
    this.#completeChild(ctx, p);
    return 'done';
  }

  #completeChild(ctx: TaskContext, p: readonly Payload[]): void {
    const offer = this.#offer;
    if (!offer) return;
    this.#offer = undefined;
    const childError = childErrorNotify(p);
    if (childError) {
      ctx.releaseChildSpi(offer.inboundSpi);
      ctx.emit({ type: 'error', ikeSaId: ctx.sa.id, code: 'GKM_IKE_PEER_ERROR', notify: childError.notifyType, notifyName: nameOf(NotifyType, childError.notifyType), message: `Child SA ${offer.config.name} not created` });
      return;
    }
    const perResource = perResourceCount(offer.config) > 0;
    try {
      const child = { ...completeChild(offer, p), initial: true, ...(perResource ? { resourceId: FALLBACK_RESOURCE } : {}) };
      ctx.installChild(child, ctx.sa.requireInit().ni, ctx.sa.requireInit().nr);
    } catch (e) {
      ctx.releaseChildSpi(offer.inboundSpi);
      ctx.emit({ type: 'error', ikeSaId: ctx.sa.id, code: isGkmError(e) ? e.code : 'GKM_IKE_BAD_RESPONSE', message: `Child SA ${offer.config.name} refused: ${(e as Error).message}` });
      return;
    }
    // RFC 9611: with or without the peer's SA_RESOURCE_INFO (no support: plain duplicate-TS SAs).
    if (perResource) queuePerResourceSas(ctx, offer.config);
  }

  dispose(): void {
    if (this.#offer) this.#ctx?.releaseChildSpi(this.#offer.inboundSpi);
    this.#offer = undefined;
  }
}

// --- responder ----------------------------------------------------------------------------

export const ikeAuthResponder: ResponderHandler = {
  exchangeType: ExchangeType.IKE_AUTH,
  phases: ['keyed'],
  handle(ctx: TaskContext, req: InboundMessage): ResponseSpec {
    const sa = ctx.sa;
    const p = req.payloads;
    // Structure first (INVALID_SYNTAX, RFC 7296 §2.21.2), then identity and AUTH.
    const idi = required<IdiPayload>(p, PayloadType.IDi, 'IDi');
    const auth = required<AuthPayload>(p, PayloadType.AUTH, 'AUTH');
    const idrWanted = single<IdrPayload>(p, PayloadType.IDr);
    const childParts = childRequestParts(p);
    if (!childParts && sa.initConfig.childless === false) {
      throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA', detail: 'IKE_AUTH without a Child SA, and childless IKE SAs are off' });
    }
    const peerId = identityOf(idi);
    const config = ctx.responderPolicy?.resolvePeer({ id: peerId, remote: req.remote, local: req.local });
    if (!config) throw new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'IDi', detail: 'no configuration for this identity' });
    if (idrWanted && !sameIdentity(identityOf(idrWanted), config.localId)) {
      throw new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'IDr', detail: 'the initiator asked for another identity' });
    }
    const payloads = establishOnInitiatorAuth(ctx, config, p, idi, auth);
    if (childParts) {
      try {
        const accepted = acceptChild(config.children ?? [], p, () => ctx.allocateChildSpi());
        const childConfig = config.children?.find((c) => c.name === accepted.child.name);
        const resource = childConfig ? responderResource(sa, childConfig, accepted.child, resourceInfoOf(p)) : undefined;
        if (resource?.kind === 'full') {
          // RFC 9611: no more SAs for this TS set (only a resource-bound first SA can get here).
          ctx.releaseChildSpi(accepted.child.inboundSpi);
          payloads.push(NotifyData.TS_MAX_QUEUE.build());
          ctx.emit({ type: 'error', ikeSaId: sa.id, code: 'GKM_IKE_INVALID_STATE', notify: NotifyType.TS_MAX_QUEUE, notifyName: 'TS_MAX_QUEUE', message: 'Child SA not created: per-resource limit reached' });
        } else {
          const resourceId = resource?.kind === 'accept' ? resource.resourceId : undefined;
          payloads.push(...accepted.payloads, ...(resourceId ? [resourceInfoNotify(resourceId)] : []));
          const init = sa.requireInit();
          ctx.installChild({ ...accepted.child, initial: true, resourceId }, init.ni, init.nr);
        }
      } catch (e) {
        const n = errorNotifyFor(e);
        if (!n) throw e;
        payloads.push(n);
        ctx.emit({ type: 'error', ikeSaId: sa.id, code: isGkmError(e) ? e.code : 'GKM_IKE_NO_PROPOSAL_CHOSEN', notify: n.notifyType, notifyName: nameOf(NotifyType, n.notifyType), message: 'Child SA not created' });
      }
    }
    const optimized = optimizedRekeyWanted(ctx.options, config) && hasNotify(p, optimizedRekeyNotifies(ctx.options).supported.notifyType);
    sa.extensions.optimizedRekey = optimized;
    if (optimized) payloads.push(optimizedRekeyNotifies(ctx.options).supported.build());
    return { payloads };
  },
};
