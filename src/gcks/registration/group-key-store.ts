/**
 * A group's key engine (src/gcks/keys GroupKeys) kept in the store, so that a GCKS restart
 * hands out the same group keys (RFC 9838 §3: TEKs, the Rekey SA's KEYMAT, LKH node keys).
 *
 *   key_material  tek rows (Data-Security SAs), kek rows (current and pending Rekey SA),
 *                 lkh-node rows (Key ID, heap position; leaves stored before migration 005
 *                 also name their member); all sealed
 *   lkh_leaves    leaves whose key is derived from the group's leaf secret and their Key ID
 *                 (src/gcks/keys/leaf-keys.ts): Key ID, heap position, member; no secret
 *   group_secrets the leaf secret, sealed
 *   group_key_state  which rows are in use, the Key ID counter, the open LKH batch
 *
 * `GroupKeyStore.record()` runs inside the caller's store transaction after each key
 * operation and writes only what changed: new SA rows (old ones retired), the tree's
 * takeChanges(), and the small state document. Under group commit the state document is
 * written once per batch instead of once per join: `record(…, { deferState: true })` leaves
 * it in memory and `writeState()` (run just before the batch's COMMIT) writes it. The row
 * on disk at every COMMIT is thus the state after the batch's last operation, as before.
 * If an operation fails after touching the keys while a deferred state is unwritten, the
 * caller must roll back the whole batch (`hasDeferredState`): the state it would write
 * includes the failed operation, the one on disk misses the batch's earlier ones. The open batch (joins not yet committed by
 * a GSA_REKEY) is rebuilt on load from Key IDs, which only grow: nodes keyed since the batch
 * opened are its dirty nodes and joiners' leaves; leaves with an older Key ID whose row was
 * moved in place since then (moved_at_key_id at or above the batch's first Key ID; before
 * migration 004, re-stored as a row at or after the batch's first row) were moved by a split. Which members saw pending keys is not
 * kept: after a restart every member counts as having seen them, so an eviction commits
 * the batch first (the safe side of the keys module's rule).
 */
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { GsaAttr } from '../../ikev2/registry/group.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { KwaId } from '../../ikev2/registry/transform.ts';
import { tlvAttr } from '../../ikev2/wire/attributes.ts';
import type { GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';
import {
  derivedLeafKeys,
  GroupKeys,
  KeyIdAllocator,
  KeyTree,
  LEAF_SECRET_LENGTH,
  rekeySaKeys,
  secureRandom,
  SpiAllocator,
  type DataSecuritySaKeys,
  type GsaPolicyTemplate,
  type KeyTreeNodeRecord,
  type LeafKeySource,
  type RekeySaKeys,
  type SpiRecord,
} from '../keys/index.ts';
import type { KeyMaterialRecord, Store } from '../../store/index.ts';

/** One SA's row and the SPI announced for its successor (GSA_NEXT_SPI). */
interface SaRef {
  readonly row: number;
  readonly nextSpi?: string;
}

/** The open LKH batch: everything keyed from `firstKeyId` / stored from `firstRow` on. */
interface BatchState {
  readonly firstKeyId: number;
  readonly firstRow: number;
  readonly joined: number;
  readonly evicted: number;
}

/** group_key_state.state, version 1. */
interface GroupKeyStateV1 {
  readonly v: 1;
  readonly keyIdsNext: number;
  readonly treeDegree: number | null;
  readonly kek: SaRef | null;
  readonly pendingKek: SaRef | null;
  readonly teks: readonly SaRef[];
  readonly batch: BatchState | null;
  /** Next GSA_REKEY Message ID on the current Rekey SA (advanced by the rekey sender). */
  readonly rekeyMessageId: number;
}

export interface GroupKeyTemplates {
  readonly rekeySa?: GsaPolicyTemplate;
  /** In policy order; TEK rows carry the SA's name. */
  readonly dataSecurity: readonly (GsaPolicyTemplate & { readonly name: string })[];
}

const KEK_SA_NAME = 'rekey';
const hex = (b: Buffer | undefined): string | undefined => b?.toString('hex');

/** The policy with its SPI and GSA_NEXT_SPI, as createRekeySa/createDataSecuritySa build it. */
function policyOf(template: GsaPolicyTemplate, spi: Buffer, nextSpi: string | undefined): GsaPolicy {
  const attributes = template.attributes.filter((a) => a.type !== GsaAttr.GSA_NEXT_SPI);
  if (nextSpi) attributes.push(tlvAttr(GsaAttr.GSA_NEXT_SPI, Buffer.from(nextSpi, 'hex')));
  return { ...template, spi, attributes };
}

const corrupt = (groupId: number, detail: string): GkmError => new GkmError('GKM_STORE_SECRET_CORRUPT', { field: `group ${groupId} key state`, detail });

export class GroupKeyStore {
  readonly keys: GroupKeys;
  readonly #store: Store;
  readonly #groupId: number;
  readonly #templates: GroupKeyTemplates;
  #state: GroupKeyStateV1;
  /** record({ deferState }) ran since the last writeState(). */
  #deferred = false;
  /** The SA objects the state's rows hold (identity tells what an operation replaced). */
  #kek: RekeySaKeys | undefined;
  #pendingKek: RekeySaKeys | undefined;
  #teks: readonly DataSecuritySaKeys[];
  #kwaName: string | null;

  private constructor(store: Store, groupId: number, templates: GroupKeyTemplates, keys: GroupKeys, state: GroupKeyStateV1) {
    this.#store = store;
    this.#groupId = groupId;
    this.#templates = templates;
    this.keys = keys;
    this.#state = state;
    this.#kek = keys.rekeySa;
    this.#pendingKek = keys.pendingRekeySa;
    this.#teks = keys.dataSecurity;
    this.#kwaName = keys.tree ? nameOf(KwaId, keys.tree.kwaId) : null;
  }

  /**
   * The group's keys from the store, or fresh ones (stored at once) on its first registration.
   * New LKH leaves get derived keys (lkh_leaves) unless `leafKeys` is 'stored': a sealed
   * key_material row each, as before migration 005 (kept for tests of stores of that age).
   */
  static open(store: Store, groupId: number, templates: GroupKeyTemplates, opts: { readonly treeDegree?: number; readonly leafKeys?: 'derived' | 'stored' } = {}): GroupKeyStore {
    return store.transaction(() => {
      const saved = store.groupKeyState.get(groupId) as GroupKeyStateV1 | undefined;
      const hasTree = templates.rekeySa !== undefined && (saved ? saved.treeDegree !== null : true);
      const leafKeys = hasTree && opts.leafKeys !== 'stored' ? groupLeafKeys(store, groupId) : undefined;
      if (saved) return GroupKeyStore.#restore(store, groupId, templates, saved, leafKeys);
      const keys = new GroupKeys({ ...(templates.rekeySa ? { rekeySa: templates.rekeySa } : {}), dataSecurity: templates.dataSecurity, ...(opts.treeDegree ? { treeDegree: opts.treeDegree } : {}), ...(leafKeys ? { leafKeys } : {}) });
      const state: GroupKeyStateV1 = { v: 1, keyIdsNext: keys.keyIds.snapshot().next, treeDegree: keys.tree?.degree ?? null, kek: null, pendingKek: null, teks: [], batch: null, rekeyMessageId: 0 };
      const created = new GroupKeyStore(store, groupId, templates, keys, state);
      created.#kek = undefined;
      created.#teks = [];
      created.#state = created.#persistSas(state);
      created.#put();
      return created;
    });
  }

  /** Next GSA_REKEY Message ID on the current Rekey SA: GSA_INITIAL_MESSAGE_ID for joiners of it. */
  get rekeyMessageId(): number {
    return this.#state.rekeyMessageId;
  }

  /**
   * Store what the last key operation changed. Call inside the transaction of the
   * operation's other writes; if it throws, drop this object and open() again.
   * With `deferState`, the state document is not written now: writeState() must run in the
   * same outer transaction before it commits (see the module comment for failures).
   */
  record(delta: { readonly joined?: number; readonly evicted?: number } = {}, opts: { readonly deferState?: boolean } = {}): void {
    const committed = this.keys.rekeySa !== this.#kek; // a commit (or rekey) replaced the Rekey SA
    let state = this.#persistSas(this.#state);
    const tree = this.keys.tree;
    let firstRow: number | undefined;
    if (tree) {
      const changes = tree.takeChanges();
      for (const keyId of changes.retiredKeyIds) this.#retireNode(keyId);
      for (const n of changes.upserts) {
        const row = this.#storeNode(n, tree.derivesLeafKeys);
        n.key.fill(0);
        firstRow ??= row;
      }
      const previous = committed ? null : state.batch;
      state = {
        ...state,
        batch: !tree.hasPendingChanges
          ? null
          : {
              firstKeyId: previous?.firstKeyId ?? this.#state.keyIdsNext,
              firstRow: previous?.firstRow ?? firstRow ?? Number.MAX_SAFE_INTEGER,
              joined: (previous?.joined ?? 0) + (delta.joined ?? 0),
              evicted: (previous?.evicted ?? 0) + (delta.evicted ?? 0),
            },
      };
    }
    state = { ...state, keyIdsNext: this.keys.keyIds.snapshot().next };
    this.#state = state;
    if (opts.deferState) this.#deferred = true;
    else this.#put();
  }

  /** A deferred state is not written yet (a failure now must roll back the whole outer transaction). */
  get hasDeferredState(): boolean {
    return this.#deferred;
  }

  /** Write a deferred state (one statement; nothing if none is pending). */
  readonly writeState = (): void => {
    if (!this.#deferred) return;
    this.#put();
    this.#deferred = false;
  };

  /** The rekey sender moved the Message ID counter of the current Rekey SA on. */
  setRekeyMessageId(next: number): void {
    this.#state = { ...this.#state, rekeyMessageId: next };
    this.#put();
  }

  #put(): void {
    this.#store.groupKeyState.put(this.#groupId, this.#state);
  }

  // --- internals ------------------------------------------------------------------------

  /** A node's key row retired, or a derived leaf's row removed (Key IDs are unique in the group). */
  #retireNode(keyId: number): void {
    if (!this.#store.keys.retireByKeyId(this.#groupId, keyId)) this.#store.lkhLeaves.remove(this.#groupId, keyId);
  }

  /**
   * Store a node the last operation changed; the id of a new key_material row, if it made one.
   * Moved (an older Key ID at a new position: a split put the leaf one level down, with its
   * key): its row is updated in place, marked with the Key ID counter as it stood before this
   * operation (restoreTree reads it). New: a derived leaf gets an lkh_leaves row (no secret),
   * any other node a sealed key_material row; so does a moved node without a row.
   */
  #storeNode(n: KeyTreeNodeRecord, derivedLeaves: boolean): number | undefined {
    const g = this.#groupId;
    const before = this.#state.keyIdsNext;
    if (n.keyId < before) {
      if (n.member !== undefined && this.#store.lkhLeaves.move(g, n.keyId, n.position, before)) return undefined;
      if (this.#store.keys.moveNode(g, n.keyId, n.position, before)) return undefined;
    } else if (n.member !== undefined && derivedLeaves) {
      this.#store.lkhLeaves.add({ groupId: g, keyId: n.keyId, memberId: Number(n.member), treeNode: n.position });
      return undefined;
    }
    return this.#store.keys.add({
      groupId: g,
      kind: 'lkh-node',
      secret: n.key,
      keyId: n.keyId,
      treeNode: n.position,
      memberId: n.member === undefined ? null : Number(n.member),
      algorithm: this.#kwaName,
    }).id;
  }

  #addSa(kind: 'tek' | 'kek', sa: { readonly policy: GsaPolicy; readonly keymat: Buffer; readonly nextSpi?: Buffer }, saName: string): SaRef {
    const lifetime = sa.policy.attributes.find((a) => a.type === GsaAttr.GSA_KEY_LIFETIME);
    const seconds = lifetime && !lifetime.tv ? lifetime.data.readUInt32BE(0) : undefined;
    const row = this.#store.keys.add({
      groupId: this.#groupId,
      kind,
      secret: sa.keymat,
      spi: sa.policy.spi,
      saName,
      ...(seconds ? { expiresAt: Date.now() + seconds * 1000 } : {}),
    });
    const nextSpi = hex(sa.nextSpi);
    return { row: row.id, ...(nextSpi ? { nextSpi } : {}) };
  }

  /** New SA rows for SAs the last operation created; rows of SAs it replaced are retired. */
  #persistSas(state: GroupKeyStateV1): GroupKeyStateV1 {
    const keys = this.keys;
    let { kek, pendingKek, teks } = state;
    const retire = (ref: SaRef | null): void => {
      if (ref) this.#store.keys.retire(ref.row);
    };
    if (keys.pendingRekeySa !== this.#pendingKek) {
      if (pendingKek && keys.rekeySa !== this.#pendingKek) retire(pendingKek); // dropped, not promoted
      pendingKek = keys.pendingRekeySa ? this.#addSa('kek', keys.pendingRekeySa, KEK_SA_NAME) : null;
    }
    if (keys.rekeySa !== this.#kek) {
      retire(kek);
      kek = keys.rekeySa === this.#pendingKek && state.pendingKek ? state.pendingKek : keys.rekeySa ? this.#addSa('kek', keys.rekeySa, KEK_SA_NAME) : null;
    }
    if (keys.dataSecurity !== this.#teks) {
      const before = new Map(this.#teks.map((s, i) => [s, teks[i]!]));
      teks = keys.dataSecurity.map((s, i) => before.get(s) ?? this.#addSa('tek', s, this.#templates.dataSecurity[i]?.name ?? `sa-${i}`));
      for (const [s, ref] of before) if (!keys.dataSecurity.includes(s)) retire(ref);
    }
    this.#kek = keys.rekeySa;
    this.#pendingKek = keys.pendingRekeySa;
    this.#teks = keys.dataSecurity;
    const changed = kek !== state.kek || pendingKek !== state.pendingKek || teks !== state.teks;
    return changed ? { ...state, kek, pendingKek, teks } : state;
  }

  static #restore(store: Store, groupId: number, templates: GroupKeyTemplates, s: GroupKeyStateV1, leafKeys: LeafKeySource | undefined): GroupKeyStore {
    if (s.v !== 1) throw corrupt(groupId, `state version ${String(s.v)}`);
    const open = (ref: SaRef, what: string): { record: KeyMaterialRecord; secret: Buffer } => {
      const m = store.keys.open(ref.row);
      if (m.groupId !== groupId || m.retiredAt !== null || !m.spi) throw corrupt(groupId, `${what} row ${ref.row}`);
      return { record: m, secret: m.secret };
    };
    const reserved: SpiRecord[] = [];
    const inUse: SpiRecord[] = [];
    const note = (policy: GsaPolicy, nextSpi: string | undefined): void => {
      inUse.push({ protocolId: policy.protocolId, spi: policy.spi });
      if (nextSpi) reserved.push({ protocolId: policy.protocolId, spi: Buffer.from(nextSpi, 'hex') });
    };
    const kekOf = (ref: SaRef | null): RekeySaKeys | undefined => {
      if (!ref) return undefined;
      if (!templates.rekeySa) throw corrupt(groupId, 'a Rekey SA row for a group without a Rekey SA');
      const { record, secret } = open(ref, 'kek');
      const policy = policyOf(templates.rekeySa, record.spi!, ref.nextSpi);
      note(policy, ref.nextSpi);
      return { ...rekeySaKeys(policy, secret), ...(ref.nextSpi ? { nextSpi: Buffer.from(ref.nextSpi, 'hex') } : {}) };
    };
    const rekeySa = kekOf(s.kek);
    const pendingRekeySa = kekOf(s.pendingKek);
    if (s.teks.length !== templates.dataSecurity.length) throw corrupt(groupId, `${s.teks.length} TEK rows for ${templates.dataSecurity.length} Data-Security SAs`);
    const dataSecurity = s.teks.map((ref, i): DataSecuritySaKeys => {
      const { record, secret } = open(ref, 'tek');
      const policy = policyOf(templates.dataSecurity[i]!, record.spi!, ref.nextSpi);
      note(policy, ref.nextSpi);
      return { policy, keymat: secret, ...(ref.nextSpi ? { nextSpi: Buffer.from(ref.nextSpi, 'hex') } : {}) };
    });
    const keyIds = new KeyIdAllocator({ next: s.keyIdsNext });
    const tree = rekeySa && s.treeDegree !== null ? restoreTree(store, groupId, rekeySa.kwaId, s, keyIds, leafKeys) : undefined;
    // An announced GSA_NEXT_SPI that an SA holds already (the current Rekey SA's successor
    // once the pending one exists) is in use, not reserved: claiming it again would hand
    // the pending KEK's SPI to the next one (a restart followed by a forced commit did).
    const used = (r: SpiRecord): boolean => inUse.some((u) => u.protocolId === r.protocolId && u.spi.equals(r.spi));
    const spis = new SpiAllocator({ state: { inUse, reserved: reserved.filter((r) => !used(r)) } });
    const keys = new GroupKeys({
      ...(templates.rekeySa ? { rekeySa: templates.rekeySa } : {}),
      dataSecurity: templates.dataSecurity,
      spis,
      keyIds,
      ...(s.treeDegree === null ? { treeDegree: false as const } : {}),
      restored: { ...(rekeySa ? { rekeySa } : {}), ...(pendingRekeySa ? { pendingRekeySa } : {}), dataSecurity, ...(tree ? { tree } : {}) },
    });
    return new GroupKeyStore(store, groupId, templates, keys, s);
  }
}

/** The group's leaf-key source; its secret is made (and sealed) on first use. */
function groupLeafKeys(store: Store, groupId: number): LeafKeySource {
  let secret = store.groupSecrets.get(groupId, 'lkh-leaf-keys');
  if (!secret) {
    secret = secureRandom(LEAF_SECRET_LENGTH);
    store.groupSecrets.add(groupId, 'lkh-leaf-keys', secret);
  }
  if (secret.length !== LEAF_SECRET_LENGTH) throw corrupt(groupId, `${secret.length}-octet leaf-key secret`);
  return derivedLeafKeys(secret);
}

/** A stored tree node, with whether a split moved it in the open batch. */
interface StoredNode extends KeyTreeNodeRecord {
  readonly movedInBatch: boolean;
}

/**
 * The LKH tree from its live lkh-node rows, its lkh_leaves rows (keys derived) and the open
 * batch (see the module comment).
 */
function restoreTree(store: Store, groupId: number, kwaId: number, s: GroupKeyStateV1, keyIds: KeyIdAllocator, leafKeys: LeafKeySource | undefined): KeyTree {
  const keyLength = getKeyWrap(kwaId).keyLength;
  const b = s.batch;
  const stored: StoredNode[] = store.keys.list(groupId, { kind: 'lkh-node' }).map((r) => {
    if (r.keyId === null || r.treeNode === null) throw corrupt(groupId, `lkh-node row ${r.id}`);
    const key = store.keys.open(r.id).secret;
    if (key.length !== keyLength) throw corrupt(groupId, `lkh-node row ${r.id}: ${key.length}-octet key`);
    // Before migration 004 a moved leaf was stored again as a new row (at or after the batch's first row).
    const movedInBatch = b !== null && (r.id >= b.firstRow || (r.movedAtKeyId ?? 0) >= b.firstKeyId);
    return { position: r.treeNode, keyId: r.keyId, key, movedInBatch, ...(r.memberId !== null ? { member: r.memberId } : {}) };
  });
  const leaves = store.lkhLeaves.list(groupId);
  if (leaves.length > 0 && !leafKeys) throw corrupt(groupId, 'LKH leaves with derived keys but no leaf-key secret');
  for (const l of leaves) {
    stored.push({ position: l.treeNode, keyId: l.keyId, key: leafKeys!(l.keyId, keyLength), member: l.memberId, movedInBatch: b !== null && (l.movedAtKeyId ?? 0) >= b.firstKeyId });
  }
  stored.sort((x, y) => x.position - y.position);
  const inBatch = (n: StoredNode): boolean => b !== null && n.keyId >= b.firstKeyId;
  const leafNodes = stored.filter((n) => n.member !== undefined);
  const tree = KeyTree.restore(
    {
      version: 1,
      degree: s.treeDegree!,
      kwaId,
      nodes: stored.map(({ position, keyId, key, member }) => ({ position, keyId, key, ...(member !== undefined ? { member } : {}) })),
      pending: {
        dirty: stored.filter((n) => n.member === undefined && inBatch(n)).map((n) => n.position),
        fresh: leafNodes.filter(inBatch).map((n) => n.member!),
        exposed: b ? leafNodes.map((n) => n.member!) : [],
        moved: b ? leafNodes.filter((n) => !inBatch(n) && n.movedInBatch).map((n) => n.member!) : [],
        membershipChanged: b !== null,
        joined: b?.joined ?? 0,
        evicted: b?.evicted ?? 0,
      },
    },
    { keyIds, ...(leafKeys ? { leafKeys } : {}) },
  );
  for (const n of stored) n.key.fill(0);
  tree.takeChanges(); // what was restored is stored already
  return tree;
}
