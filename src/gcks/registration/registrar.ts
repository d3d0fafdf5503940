/**
 * Registration decisions of the GCKS (RFC 9838 §2.3), independent of the exchange that
 * carries them (GSA_AUTH or GSA_REGISTRATION):
 *
 *   join   IDg → group (INVALID_GROUP_ID) → authorization (AUTHORIZATION_FAILED) → SAg vs
 *          policy (NO_PROPOSAL_CHOSEN) → member cap and Sender-IDs (REGISTRATION_FAILED) →
 *          keys (src/gcks/keys) → GSA, KD, [N(USE_TRANSPORT_MODE)]
 *   leave  GSA_REGISTRATION {IDg, N(NO_PROPOSAL_CHOSEN | REGISTRATION_FAILED)}: the member is
 *          removed from the group (§2.3.2) and from its key tree
 *
 * Everything a registration changes (the registration row, Sender-ID counter, key tree and
 * SA key rows, audit entry) is written in one store transaction. Checks that can fail come
 * before the key engine is touched; if a write fails after it, the group's in-memory keys
 * are dropped and reloaded from the store on next use, so memory never runs ahead of disk.
 *
 * Membership rekeys the key engine produces (a forced commit when the tree is full, an
 * eviction of a member holding pending keys) go to a MembershipRekeySink: sending GSA_REKEY
 * is the rekey module's job (src/gcks/rekey/).
 */
import { GkmError } from '../../ikev2/errors.ts';
import { NotifyType } from '../../ikev2/registry/notify.ts';
import { PayloadType } from '../../ikev2/registry/payload.ts';
import { buildGsaPolicyAttributes, parseGsaPolicyAttributes, type GroupExchangeContext } from '../../ikev2/wire/group-attributes.ts';
import type { Payload } from '../../ikev2/wire/payload.ts';
import { notify, type GsaPayload, type Proposal } from '../../ikev2/wire/payloads/index.ts';
import type { GroupPolicy as WireGroupPolicy, GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';
import type { GroupRecord, MemberRecord, Store, StoredIdentity } from '../../store/index.ts';
import type { Logger } from '../config/logger.ts';
import { findGroupByIdg, identityLabel, loadSigningKey, requireAuthorization } from '../groups/index.ts';
import type { IkeSaKeyChannel, MembershipRekey } from '../keys/index.ts';
import { groupPolicyShape, groupWidePolicy, gsaPolicyTemplate, loadGroupPolicy, usesCounterModes, type GroupPolicy, type GroupPolicyShape } from '../policy/index.ts';
import { GroupCommit, type GroupCommitOptions } from './group-commit.ts';
import { GroupKeyStore } from './group-key-store.ts';
import { requireSagSupport, type GroupSaOffer } from './sag.ts';

/** Where membership rekeys go (the GSA_REKEY sender, once it exists). */
export interface MembershipRekeySink {
  membershipRekey(groupId: number, rekey: MembershipRekey): void;
}

/** The IKE SA a registration travels over. */
export interface IkeSaRef {
  /** SPIi || SPIr. */
  readonly spi: Buffer;
  /** "address:port" of the GM. */
  readonly peer: string;
  readonly channel: IkeSaKeyChannel;
}

export interface JoinRequest {
  readonly member: MemberRecord;
  readonly idg: StoredIdentity;
  /** SAg proposals, if the GM sent SAg. */
  readonly sag?: readonly Proposal[];
  /** The count of N(GROUP_SENDER), if the GM sent it. */
  readonly groupSender?: number;
  readonly ike: IkeSaRef;
}

export interface JoinResult {
  readonly group: GroupRecord;
  /** GSA, KD and any status notify, in reply order. */
  readonly payloads: Payload[];
  /** The group is rekeyed in-band: its IKE SA must stay up (§2.4.2). */
  readonly inband: boolean;
  readonly senderIds: readonly number[];
  readonly rekeySpi: Buffer | undefined;
}

export interface RegistrarOptions {
  readonly store: Store;
  readonly log: Logger;
  readonly rekeySink?: MembershipRekeySink;
  /** LKH tree degree for new groups (keys module default otherwise). */
  readonly treeDegree?: number;
  /** Group commit window (src/gcks/registration/group-commit.ts). */
  readonly commit?: GroupCommitOptions;
  /**
   * 'stored': new LKH leaves get random keys in sealed key_material rows, as before migration
   * 005 (tests of stores of that age); default 'derived' (group-key-store.ts).
   */
  readonly leafKeys?: 'derived' | 'stored';
}

/** A group as registration needs it, loaded once per process (policy changes need a restart). */
interface GroupRuntime {
  readonly group: GroupRecord;
  readonly policy: GroupPolicy;
  readonly shape: GroupPolicyShape;
  readonly offers: readonly GroupSaOffer[];
  readonly keyStore: GroupKeyStore;
  /** SPKI of the GSA_REKEY signing key (AUTH_KEY), with GCAUTH Digital Signature. */
  readonly authKey: Buffer | undefined;
  readonly counterMode: boolean;
}

const ACTOR = 'gcks:registration';

/** GSA_INITIAL_MESSAGE_ID in a Rekey SA policy (§4.4.2.2.2), sent only when non-zero. */
function withInitialMessageId(policy: GsaPolicy, id: number, context: GroupExchangeContext): GsaPolicy {
  if (id === 0) return policy;
  const attrs = parseGsaPolicyAttributes(policy, context);
  return { ...policy, attributes: buildGsaPolicyAttributes({ ...attrs, initialMessageId: id }, policy.protocolId, context) };
}

export class Registrar {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #sink: MembershipRekeySink;
  readonly #treeDegree: number | undefined;
  readonly #leafKeys: 'derived' | 'stored' | undefined;
  readonly #groups = new Map<number, GroupRuntime>();
  readonly #commit: GroupCommit;

  constructor(opts: RegistrarOptions) {
    this.#store = opts.store;
    this.#commit = new GroupCommit(opts.store, (e) => {
      this.#log.error({ error: (e as Error).message }, 'store commit failed: reloading group keys from the store');
      this.#groups.clear();
    }, opts.commit);
    this.#log = opts.log;
    this.#treeDegree = opts.treeDegree;
    this.#leafKeys = opts.leafKeys;
    this.#sink = opts.rekeySink ?? {
      membershipRekey: (groupId, r) =>
        this.#log.warn({ groupId, membership: r.membership !== null, dataSecurity: r.dataSecurity !== null }, 'membership rekey produced but no GSA_REKEY sender is attached'),
    };
  }

  /**
   * Register `member` for the group named by `idg`; rejects with GkmErrors carrying the
   * notify to answer. Resolves once the registration is committed (group commit).
   */
  async join(req: JoinRequest): Promise<JoinResult> {
    const store = this.#store;
    const group = findGroupByIdg(store, req.idg);
    const authz = requireAuthorization(store, group.id, req.member.id);
    const rt = this.#runtime(group);
    requireSagSupport(rt.offers, req.sag);
    const tree = rt.keyStore.keys.tree;
    if (tree && req.ike.channel.kwaId !== tree.kwaId) {
      throw new GkmError('GKM_KEYS_KWA_MISMATCH', { field: 'IKE SA KWA', detail: `the group's key tree uses KWA ${tree.kwaId}, the IKE SA ${req.ike.channel.kwaId}` });
    }
    const senderIdCount = this.#senderIdCount(req, authz, rt);
    const rekeys: MembershipRekey[] = [];
    let touched = false;
    const register = () => store.transaction(() => {
      // Before the key tree is touched: a full group refuses a new member here.
      const existing = store.registrations.admit(group.id, req.member.id, group.memberCap, group.name);
      const bits = rt.policy.groupWide.senderIdBits;
      const senderIds = senderIdCount > 0 && bits !== null ? store.senderIds.allocate(group.id, senderIdCount, bits) : [];
      const keys = rt.keyStore.keys;
      const joins = keys.tree && !keys.tree.has(req.member.id) ? 1 : 0;
      touched = true;
      const reg = keys.register({ member: req.member.id, ikeSa: req.ike.channel, ...(senderIds.length ? { senderIds } : {}), ...(rt.authKey ? { authKey: rt.authKey } : {}) });
      if (reg.precedingRekey) rekeys.push(reg.precedingRekey);
      rt.keyStore.record({ joined: joins }, { deferState: true }); // written once per batch, before its COMMIT
      const leafKeyId = keys.tree ? keys.tree.leafOf(req.member.id).keyId : null;
      // The member cap was checked above, in this transaction: put() need not count again.
      store.registrations.put({ groupId: group.id, memberId: req.member.id, ikeSpi: req.ike.spi, peer: req.ike.peer, senderIds, leafKeyId });
      const rekeySpi = reg.rekeySa?.spi;
      store.audit.append({
        actor: ACTOR,
        action: existing ? 'member.reregister' : 'member.register',
        groupId: group.id,
        memberId: req.member.id,
        detail: { member: identityLabel(req.member.identity), peer: req.ike.peer, ikeSpi: req.ike.spi.toString('hex'), senderIds: [...senderIds], leafKeyId, ...(rekeySpi ? { rekeySpi: rekeySpi.toString('hex') } : {}) },
      });
      const current = rekeySpi !== undefined && keys.rekeySa?.policy.spi.equals(rekeySpi) === true;
      return { reg, senderIds, initialMessageId: current ? rt.keyStore.rekeyMessageId : 0 };
    });
    const registerInBatch = (): ReturnType<typeof register> => {
      const deferredBefore = rt.keyStore.hasDeferredState; // earlier joins of this batch
      try {
        const r = register();
        this.#commit.beforeCommit(rt.keyStore.writeState);
        return r;
      } catch (e) {
        if (touched) this.#dropKeys(rt, e, deferredBefore); // keys ran ahead of the rolled-back savepoint
        throw e;
      }
    };
    const result = await this.#commit.run(registerInBatch);
    for (const r of rekeys) this.#sink.membershipRekey(group.id, r);
    const { reg, senderIds, initialMessageId } = result;
    const context = rt.shape.context;
    const policies: WireGroupPolicy[] = [];
    if (reg.rekeySa) policies.push(withInitialMessageId(reg.rekeySa, initialMessageId, context));
    policies.push(...reg.dataSecurity);
    const gw = groupWidePolicy(rt.policy, context, { senderIdsGranted: senderIds.length > 0 });
    if (gw) policies.push(gw);
    const gsa: GsaPayload = { type: PayloadType.GSA, policies };
    const payloads: Payload[] = [gsa, reg.kd];
    if (rt.shape.useTransportMode) payloads.push(notify(NotifyType.USE_TRANSPORT_MODE));
    return { group, payloads, inband: context === 'registration-inband', senderIds, rekeySpi: reg.rekeySa?.spi };
  }

  /** The member leaves (or rejects the policy of) the group: registration and tree leaf go. */
  async leave(member: MemberRecord, idg: StoredIdentity, reason: string): Promise<{ readonly group: GroupRecord; readonly removed: boolean }> {
    const store = this.#store;
    const group = findGroupByIdg(store, idg);
    const rt = this.#runtime(group);
    const rekeys: MembershipRekey[] = [];
    const removed = await this.#commit.run(() => this.#guarded(rt, () => store.transaction(() => {
        const registered = store.registrations.remove(group.id, member.id);
        const keys = rt.keyStore.keys;
        const inTree = keys.tree?.has(member.id) ?? false;
        if (inTree || (registered && !keys.tree)) {
          const forced = keys.evict(member.id);
          if (forced) rekeys.push(forced);
          rt.keyStore.record({ evicted: inTree ? 1 : 0 });
        }
        if (registered || inTree) {
          store.audit.append({ actor: ACTOR, action: 'member.leave', groupId: group.id, memberId: member.id, detail: { member: identityLabel(member.identity), reason } });
        }
        return registered || inTree;
      })),
    );
    for (const r of rekeys) this.#sink.membershipRekey(group.id, r);
    return { group, removed };
  }

  /**
   * Close the group's membership batch (for the GSA_REKEY sender, src/gcks/rekey/): the key
   * engine's commit() and its store changes in one transaction. The caller sends the result.
   */
  commit(groupId: number, opts: { readonly refreshDataSecurity?: boolean } = {}): MembershipRekey | null {
    const group = this.#store.groups.get(groupId);
    if (!group) throw new GkmError('GKM_GCKS_UNKNOWN_GROUP', { field: `group ${groupId}` });
    const rt = this.#runtime(group);
    return this.#store.transaction(() => {
      try {
        const r = rt.keyStore.keys.commit(opts);
        rt.keyStore.record();
        return r;
      } catch (e) {
        this.#dropKeys(rt, e);
        throw e;
      }
    });
  }

  /** The loaded key state of a group (tests, the rekey module). */
  groupKeys(groupId: number): GroupKeyStore | undefined {
    return this.#groups.get(groupId)?.keyStore;
  }

  /** Forget cached groups (e.g. after a policy change); they reload from the store. */
  forget(groupId?: number): void {
    for (const [id, rt] of this.#groups) {
      if (groupId !== undefined && id !== groupId) continue;
      rt.keyStore.writeState(); // a reload reads the state from the store
      this.#groups.delete(id);
    }
  }

  // --- internals ------------------------------------------------------------------------

  /** Sender-IDs to grant (§2.5.1): none without GROUP_SENDER or counter mode; 0 counts as 1. */
  #senderIdCount(req: JoinRequest, authz: { readonly role: string; readonly maxSenderIds: number }, rt: GroupRuntime): number {
    if (req.groupSender === undefined) return 0;
    if (authz.role === 'receiver') throw new GkmError('GKM_GCKS_NOT_AUTHORIZED', { field: rt.group.name, detail: 'a receiver asked to send (GROUP_SENDER)' });
    if (!rt.counterMode) return 0;
    if (authz.maxSenderIds === 0) throw new GkmError('GKM_GCKS_NOT_AUTHORIZED', { field: rt.group.name, detail: 'no Sender-IDs allowed for this member' });
    return Math.min(Math.max(req.groupSender, 1), authz.maxSenderIds);
  }

  /** Run a key operation; if it fails, the group's in-memory keys may be ahead of the store: reload them next time. */
  #guarded<T>(rt: GroupRuntime, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.#dropKeys(rt, e);
      throw e;
    }
  }

  /**
   * A key operation failed after touching the group's keys: they reload from the store on
   * next use. If the open batch holds a deferred key state of the group (earlier operations
   * of the batch), that state cannot be written any more (it includes the failed operation)
   * and the store's lacks the batch's earlier ones: the batch rolls back as a whole.
   */
  #dropKeys(rt: GroupRuntime, error: unknown, deferred = rt.keyStore.hasDeferredState): void {
    if (this.#groups.get(rt.group.id) === rt) this.#groups.delete(rt.group.id);
    if (deferred) this.#commit.doom(error);
  }

  #runtime(group: GroupRecord): GroupRuntime {
    const cached = this.#groups.get(group.id);
    if (cached) return cached;
    const loaded = loadGroupPolicy(this.#store, group.id);
    if (!loaded) throw new GkmError('GKM_POLICY_INVALID', { field: group.name, detail: 'the group has no policy' });
    const { policy } = loaded;
    const shape = groupPolicyShape(policy);
    const context = shape.context;
    const keyStore = GroupKeyStore.open(
      this.#store,
      group.id,
      {
        ...(shape.rekeySa ? { rekeySa: gsaPolicyTemplate(shape.rekeySa, context) } : {}),
        dataSecurity: shape.dataSecuritySas.map((s) => ({ ...gsaPolicyTemplate(s, context), name: s.name })),
      },
      { ...(this.#treeDegree ? { treeDegree: this.#treeDegree } : {}), ...(this.#leafKeys ? { leafKeys: this.#leafKeys } : {}) },
    );
    const auth = policy.rekey.method === 'multicast' ? policy.rekey.sa.authentication : undefined;
    const authKey = auth?.method === 'signature' ? loadSigningKey(this.#store, group.id)?.spki : undefined;
    if (auth?.method === 'signature' && !authKey) throw new GkmError('GKM_POLICY_INVALID', { field: group.name, detail: 'signature GCAUTH without a signing key' });
    const offers = [...(shape.rekeySa ? [shape.rekeySa] : []), ...shape.dataSecuritySas];
    const rt: GroupRuntime = { group, policy, shape, offers, keyStore, authKey, counterMode: usesCounterModes(policy) };
    this.#groups.set(group.id, rt);
    this.#log.info({ groupId: group.id, group: group.name, rekeySpi: keyStore.keys.rekeySa?.policy.spi.toString('hex'), members: keyStore.keys.tree?.size ?? 0 }, 'group keys loaded');
    return rt;
  }
}

