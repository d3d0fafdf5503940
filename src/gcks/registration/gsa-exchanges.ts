/**
 * The GCKS's responders for GSA_AUTH (39) and GSA_REGISTRATION (40), RFC 9838 §2.3:
 *
 *   GSA_AUTH   GM: SK{IDi, [CERT], [CERTREQ], [IDr], AUTH, IDg, [SAg], [N(GROUP_SENDER)], [N]}
 *              GCKS: SK{IDr, [CERT], AUTH, GSA, KD, [N(USE_TRANSPORT_MODE)]}
 *                 or SK{IDr, [CERT], AUTH, N(INVALID_GROUP_ID | AUTHORIZATION_FAILED |
 *                       REGISTRATION_FAILED | NO_PROPOSAL_CHOSEN)}   (the IKE SA is up)
 *                 or SK{N(AUTHENTICATION_FAILED)}                     (no IKE SA, §2.3.1)
 *   GSA_REGISTRATION  GM: SK{IDg, [SAg], [N(GROUP_SENDER)]} → SK{GSA, KD, [N]} | SK{N(error)}
 *                     GM: SK{IDg, N(NO_PROPOSAL_CHOSEN | REGISTRATION_FAILED)} → SK{} (leave)
 *
 * AUTH is IKE_AUTH's (§2.3.1): the GM's credential comes from its member record (a PSK, or
 * a public key for RFC 7427 signatures with a raw key, RFC 7670). The request is parsed in
 * full before AUTH is checked, so a malformed one is INVALID_SYNTAX and takes the half-open
 * SA with it (RFC 7296 §2.21.2). Registration decisions are the Registrar's.
 */
import type { KeyObject } from 'node:crypto';
import { spkiToPublicKey } from '../../ikev2/crypto/spki.ts';
import { GkmError, isGkmError } from '../../ikev2/errors.ts';
import { ExchangeType } from '../../ikev2/registry/exchange.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { NotifyType } from '../../ikev2/registry/notify.ts';
import { PayloadType } from '../../ikev2/registry/payload.ts';
import { establishOnInitiatorAuth } from '../../ikev2/sa/exchanges/ike-auth.ts';
import type { IkeSaInitConfig, LocalAuth, PeerAuth, PeerConfig } from '../../ikev2/sa/config.ts';
import { identityOf, identityText, sameIdentity, type Identity } from '../../ikev2/sa/identity.ts';
import { errorNotifyFor, findNotify, required, single } from '../../ikev2/sa/messages.ts';
import type { IkeEngine } from '../../ikev2/sa/engine.ts';
import type { InboundMessage, ResponderHandler, ResponseSpec, TaskContext } from '../../ikev2/sa/task.ts';
import type { Payload } from '../../ikev2/wire/payload.ts';
import { notify, NotifyData, type AuthPayload, type IdgPayload, type IdiPayload, type IdrPayload, type Proposal, type SaPayload } from '../../ikev2/wire/payloads/index.ts';
import type { MemberRecord, Store, StoredIdentity } from '../../store/index.ts';
import type { Logger } from '../config/logger.ts';
import { findMemberByIdentity } from '../groups/index.ts';
import type { JoinRequest, Registrar } from './registrar.ts';
import type { RegistrationSessions } from './sessions.ts';

/** Who the GCKS is in GSA_AUTH: its ID and, for members that sign, its own signature key. */
export interface GcksIdentity {
  readonly id: Identity;
  /** Used towards members with public-key credentials (raw key in CERT, RFC 7670). */
  readonly signatureKey?: KeyObject;
}

export interface GsaExchangeDeps {
  readonly store: Store;
  readonly registrar: Registrar;
  readonly sessions: RegistrationSessions;
  readonly identity: GcksIdentity;
  readonly log: Logger;
}

/** What a GM asks for in one registration request (IDg, SAg, GROUP_SENDER). */
interface GroupRequest {
  readonly idg: StoredIdentity;
  readonly sag: readonly Proposal[] | undefined;
  readonly groupSender: number | undefined;
}

function groupRequest(p: readonly Payload[]): GroupRequest {
  const idg = required<IdgPayload>(p, PayloadType.IDg, 'IDg');
  const sag = single<SaPayload>(p, PayloadType.SA);
  const sender = findNotify(p, NotifyType.GROUP_SENDER);
  return {
    idg: { idType: idg.idType, data: idg.data },
    sag: sag?.proposals,
    // RFC 9838 §4.7.4: a 4-octet count; anything else is INVALID_SYNTAX (digest §15 #4).
    groupSender: sender ? NotifyData.GROUP_SENDER.parse(sender) : undefined,
  };
}


/** The engine-facing peer configuration for an authenticated member. */
function memberPeerConfig(store: Store, member: MemberRecord, identity: GcksIdentity, init: IkeSaInitConfig): PeerConfig {
  const credential = store.members.credential(member.id);
  let localAuth: LocalAuth;
  let remoteAuth: PeerAuth;
  if (credential.kind === 'psk') {
    localAuth = { method: 'psk', psk: credential.psk };
    remoteAuth = { method: 'psk', psk: credential.psk };
  } else {
    if (!identity.signatureKey) throw new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'GCKS', detail: 'no GCKS signature key for members with public keys' });
    localAuth = { method: 'signature', privateKey: identity.signatureKey };
    remoteAuth = { method: 'signature', publicKeys: [spkiToPublicKey(credential.spki)] };
  }
  const remoteId: Identity = { type: member.identity.idType, data: member.identity.data };
  // IKE SA rekeys (CREATE_CHILD_SA) choose from the same proposals as IKE_SA_INIT.
  return { name: `member:${identityText(remoteId)}`, proposals: init.proposals, localId: identity.id, remoteId, localAuth, remoteAuth, children: [] };
}

export class GsaExchanges {
  readonly #d: GsaExchangeDeps;

  constructor(deps: GsaExchangeDeps) {
    this.#d = deps;
  }

  /** Register the responders with `engine` and follow its IKE SAs' rekeys and deletions. */
  attach(engine: IkeEngine): void {
    for (const h of this.handlers) engine.registerResponder(h);
    engine.events.on('rekeyed', (e) => {
      if (e.what === 'ike') this.#d.sessions.rekeyed(e.old, e.new);
    });
    engine.events.on('deleted', (e) => {
      if (e.what === 'ike') this.#d.sessions.end(e.ikeSaId);
    });
  }

  get handlers(): ResponderHandler[] {
    return [
      { exchangeType: ExchangeType.GSA_AUTH, phases: ['keyed'], handle: (ctx, req) => this.#gsaAuth(ctx, req) },
      { exchangeType: ExchangeType.GSA_REGISTRATION, phases: ['established'], handle: (ctx, req) => this.#gsaRegistration(ctx, req) },
    ];
  }

  async #gsaAuth(ctx: TaskContext, req: InboundMessage): Promise<ResponseSpec> {
    const { store, identity, sessions } = this.#d;
    const sa = ctx.sa;
    const p = req.payloads;
    const idi = required<IdiPayload>(p, PayloadType.IDi, 'IDi');
    const auth = required<AuthPayload>(p, PayloadType.AUTH, 'AUTH');
    const idrWanted = single<IdrPayload>(p, PayloadType.IDr);
    const ask = groupRequest(p);
    const peerId = identityOf(idi);
    const member = findMemberByIdentity(store, { idType: peerId.type, data: peerId.data });
    if (!member) throw new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'IDi', detail: `unknown member ${identityText(peerId)}` });
    if (idrWanted && !sameIdentity(identityOf(idrWanted), identity.id)) {
      throw new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'IDr', detail: 'the GM asked for another GCKS identity' });
    }
    // memberPeerConfig's localId is the GCKS identity (identity.id).
    const config = memberPeerConfig(store, member, identity, sa.initConfig);
    const authPayloads = establishOnInitiatorAuth(ctx, config, p, idi, auth);
    const session = sessions.start(sa, member.id);
    const payloads: Payload[] = [...authPayloads, ...(await this.#join(ctx, req, member, ask))];
    sessions.touch(ctx, session);
    return { payloads };
  }

  async #gsaRegistration(ctx: TaskContext, req: InboundMessage): Promise<ResponseSpec> {
    const { store, sessions, registrar, log } = this.#d;
    const session = sessions.get(ctx.sa);
    if (!session) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'exchange', detail: 'GSA_REGISTRATION over an IKE SA not set up by GSA_AUTH' });
    const member = store.members.get(session.memberId);
    if (!member) throw new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'member', detail: 'the member was removed' });
    const p = req.payloads;
    const ask = groupRequest(p);
    const leaving = findNotify(p, NotifyType.NO_PROPOSAL_CHOSEN) ?? findNotify(p, NotifyType.REGISTRATION_FAILED);
    sessions.touch(ctx, session);
    if (leaving) {
      // §2.3.2: a GM rejecting the policy or leaving MUST be removed; the answer is empty.
      const reason = nameOf(NotifyType, leaving.notifyType);
      try {
        const { group, removed } = await registrar.leave(member, ask.idg, reason);
        session.groups.delete(group.id);
        log.info({ ike: ctx.sa.id, groupId: group.id, memberId: member.id, removed, reason }, 'member left the group');
      } catch (e) {
        if (!isGkmError(e, 'GKM_GCKS_UNKNOWN_GROUP')) throw e;
      }
      return { payloads: [] };
    }
    return { payloads: await this.#join(ctx, req, member, ask) };
  }

  /** GSA, KD (and status notifies) on success; the error notify otherwise (the IKE SA stays). */
  async #join(ctx: TaskContext, req: InboundMessage, member: MemberRecord, ask: GroupRequest): Promise<Payload[]> {
    const { registrar, sessions, log } = this.#d;
    const session = sessions.get(ctx.sa)!;
    let peer = '';
    try {
      const ike = sessions.ikeSaRef(ctx.sa, session, req.remote);
      peer = ike.peer;
      const request: JoinRequest = {
        member,
        idg: ask.idg,
        ...(ask.sag ? { sag: ask.sag } : {}),
        ...(ask.groupSender !== undefined ? { groupSender: ask.groupSender } : {}),
        ike,
      };
      const r = await registrar.join(request);
      session.groups.add(r.group.id);
      if (r.inband) session.inband = true;
      log.info(
        { ike: ctx.sa.id, groupId: r.group.id, group: r.group.name, memberId: member.id, peer, senderIds: r.senderIds, rekeySpi: r.rekeySpi?.toString('hex') },
        'member registered',
      );
      return r.payloads;
    } catch (e) {
      const n = isGkmError(e) && e.notify !== null ? errorNotifyFor(e)! : notify(NotifyType.REGISTRATION_FAILED);
      const level = isGkmError(e) && e.notify !== null ? 'info' : 'error';
      log[level]({ ike: ctx.sa.id, memberId: member.id, notify: nameOf(NotifyType, n.notifyType), code: isGkmError(e) ? e.code : undefined, error: (e as Error).message }, 'registration refused');
      return [notify(n.notifyType)]; // RFC 9838 §4.7: these notifies carry no data
    }
  }
}
