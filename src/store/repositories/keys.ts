/**
 * Key material of a group, sealed under the master key:
 *   tek          Data-Security SA keying material (RFC 9838 §3.5), by SPI and policy SA name
 *   kek          Rekey SA keying material GSK_e | GSK_a | GSK_w (RFC 9838 §3.4), by SPI
 *   lkh-node     key-tree node keys (RFC 9838 §3.2, Appendix A), by Key ID and tree position;
 *                a leaf stored before migration 005 names its member (later leaves have
 *                derived keys and only a place: lkh-leaves.ts)
 *   signing-key  the GCKS's GSA_REKEY signing key (GCAUTH Digital Signature, RFC 9838
 *                §4.4.2.1.1): PKCS#8 DER sealed, SPKI in clear (it is the AUTH_KEY)
 * Rows are retired, not updated: a replacement is a new row (the old one stays readable
 * until its DTD has passed and it is purged). The one change in place is a key-tree node
 * that moves with its key and Key ID (moveNode: a split puts a leaf one level down).
 */
import type { SecretPlace } from '../secret-box.ts';
import type { RepositoryContext } from './context.ts';
import { newUid, notFound, storeError } from './context.ts';

export type KeyKind = 'tek' | 'kek' | 'lkh-node' | 'signing-key';

export interface KeyMaterialRecord {
  readonly id: number;
  readonly groupId: number;
  readonly kind: KeyKind;
  /** RFC 9838 §4.5.4 Key ID (1..2^32-1), for LKH keys. */
  readonly keyId: number | null;
  /** 4 bytes for a TEK, 16 for a KEK (SPIi || SPIr of the rekey header). */
  readonly spi: Buffer | null;
  /** The Data-Security SA of the group policy a TEK belongs to. */
  readonly saName: string | null;
  /** Position in the key tree (LKH), e.g. heap index; the keys engineer's convention. */
  readonly treeNode: number | null;
  /** Member a leaf key belongs to. */
  readonly memberId: number | null;
  /** Free-form algorithm label (e.g. "aes-gcm-16-256", "ed25519"). */
  readonly algorithm: string | null;
  /** Public half, for signing keys (SPKI); never secret. */
  readonly publicKey: Buffer | null;
  readonly createdAt: number;
  readonly activatesAt: number;
  readonly expiresAt: number | null;
  readonly retiredAt: number | null;
  /** lkh-node rows: the group's next Key ID before the operation that last moved the node (moveNode); null if never moved. */
  readonly movedAtKeyId: number | null;
}

/** A record with its decrypted secret. */
export interface KeyMaterial extends KeyMaterialRecord {
  readonly secret: Buffer;
}

export interface NewKeyMaterial {
  readonly groupId: number;
  readonly kind: KeyKind;
  readonly secret: Uint8Array;
  readonly keyId?: number | null;
  readonly spi?: Buffer | null;
  readonly saName?: string | null;
  readonly treeNode?: number | null;
  readonly memberId?: number | null;
  readonly algorithm?: string | null;
  readonly publicKey?: Buffer | null;
  /** Default: now. */
  readonly activatesAt?: number;
  readonly expiresAt?: number | null;
}

export interface KeyFilter {
  readonly kind?: KeyKind;
  /** Include retired rows (default false). */
  readonly includeRetired?: boolean;
}

export interface KeyMaterialRepository {
  add(k: NewKeyMaterial): KeyMaterialRecord;
  /** Record only (no decryption). */
  get(id: number): KeyMaterialRecord | undefined;
  /** Record with its decrypted secret; GKM_STORE_NOT_FOUND / GKM_STORE_SECRET_CORRUPT. */
  open(id: number): KeyMaterial;
  /** The live (not retired) key with this SPI. */
  findBySpi(spi: Buffer): KeyMaterialRecord | undefined;
  /** The live key with this Key ID in the group. */
  findByKeyId(groupId: number, keyId: number): KeyMaterialRecord | undefined;
  /**
   * The live key with this Key ID moved to `treeNode` with its key (one statement, no new
   * row); `movedAtKeyId` marks when (see KeyMaterialRecord). Whether there was such a key.
   */
  moveNode(groupId: number, keyId: number, treeNode: number, movedAtKeyId: number): boolean;
  /** Retire the live key with this Key ID in the group (one statement); whether there was one. */
  retireByKeyId(groupId: number, keyId: number, at?: number): boolean;
  list(groupId: number, filter?: KeyFilter): KeyMaterialRecord[];
  retire(id: number, at?: number): void;
  setExpiry(id: number, expiresAt: number | null): void;
  /** Delete retired rows whose retirement is older than `before`; returns how many. */
  purgeRetired(before: number): number;
}

interface KeyRow {
  id: number;
  uid: string;
  group_id: number;
  kind: KeyKind;
  key_id: number | null;
  spi: Buffer | null;
  sa_name: string | null;
  tree_node: number | null;
  member_id: number | null;
  algorithm: string | null;
  secret_enc: Buffer;
  public_key: Buffer | null;
  created_at: number;
  activates_at: number;
  expires_at: number | null;
  retired_at: number | null;
  moved_at_key_id: number | null;
}

export const KEY_SECRET_COLUMN = { table: 'key_material', column: 'secret_enc' } as const;
const secretPlace = (uid: string): SecretPlace => ({ ...KEY_SECRET_COLUMN, uid });

const toRecord = (r: KeyRow): KeyMaterialRecord => ({
  id: r.id,
  groupId: r.group_id,
  kind: r.kind,
  keyId: r.key_id,
  spi: r.spi,
  saName: r.sa_name,
  treeNode: r.tree_node,
  memberId: r.member_id,
  algorithm: r.algorithm,
  publicKey: r.public_key,
  createdAt: r.created_at,
  activatesAt: r.activates_at,
  expiresAt: r.expires_at,
  retiredAt: r.retired_at,
  movedAtKeyId: r.moved_at_key_id,
});

export function keyMaterialRepository(ctx: RepositoryContext): KeyMaterialRepository {
  const { db } = ctx;
  const insert = db.prepare(`INSERT INTO key_material (uid, group_id, kind, key_id, spi, sa_name, tree_node, member_id, algorithm,
    secret_enc, public_key, created_at, activates_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = db.prepare<[number], KeyRow>('SELECT * FROM key_material WHERE id = ?');
  const bySpi = db.prepare<[Buffer], KeyRow>('SELECT * FROM key_material WHERE spi = ? AND retired_at IS NULL');
  const byKeyId = db.prepare<[number, number], KeyRow>('SELECT * FROM key_material WHERE group_id = ? AND key_id = ? AND retired_at IS NULL');
  const list = db.prepare<{ group: number; kind: KeyKind | null; retired: number }, KeyRow>(`SELECT * FROM key_material
    WHERE group_id = :group AND (:kind IS NULL OR kind = :kind) AND (:retired = 1 OR retired_at IS NULL) ORDER BY id`);
  const retire = db.prepare('UPDATE key_material SET retired_at = ? WHERE id = ? AND retired_at IS NULL');
  const move = db.prepare('UPDATE key_material SET tree_node = ?, moved_at_key_id = ? WHERE group_id = ? AND key_id = ? AND retired_at IS NULL');
  const retireKeyId = db.prepare('UPDATE key_material SET retired_at = ? WHERE group_id = ? AND key_id = ? AND retired_at IS NULL');
  const expiry = db.prepare('UPDATE key_material SET expires_at = ? WHERE id = ?');
  const purge = db.prepare('DELETE FROM key_material WHERE retired_at IS NOT NULL AND retired_at < ?');

  const row = (id: number): KeyRow => byId.get(id) ?? (() => { throw notFound('key_material', id); })();

  const repo: KeyMaterialRepository = {
    add(k) {
      const uid = newUid();
      const t = ctx.now();
      const sealed = ctx.secrets().seal(k.secret, secretPlace(uid));
      const keyId = k.keyId ?? null;
      const spi = k.spi ?? null;
      const saName = k.saName ?? null;
      const treeNode = k.treeNode ?? null;
      const memberId = k.memberId ?? null;
      const algorithm = k.algorithm ?? null;
      const publicKey = k.publicKey ?? null;
      const activatesAt = k.activatesAt ?? t;
      const expiresAt = k.expiresAt ?? null;
      let lastInsertRowid: number | bigint;
      try {
        ({ lastInsertRowid } = insert.run(uid, k.groupId, k.kind, keyId, spi, saName, treeNode, memberId, algorithm, sealed, publicKey, t, activatesAt, expiresAt));
      } catch (e) {
        throw storeError('key_material', e);
      }
      // The record from what was inserted (no read back: a join stores ~2 rows).
      return { id: Number(lastInsertRowid), groupId: k.groupId, kind: k.kind, keyId, spi, saName, treeNode, memberId, algorithm, publicKey, createdAt: t, activatesAt, expiresAt, retiredAt: null, movedAtKeyId: null };
    },
    get: (id) => {
      const r = byId.get(id);
      return r && toRecord(r);
    },
    open(id) {
      const r = row(id);
      return { ...toRecord(r), secret: ctx.secrets().open(r.secret_enc, secretPlace(r.uid)) };
    },
    findBySpi: (spi) => {
      const r = bySpi.get(spi);
      return r && toRecord(r);
    },
    findByKeyId: (groupId, keyId) => {
      const r = byKeyId.get(groupId, keyId);
      return r && toRecord(r);
    },
    list: (groupId, filter = {}) => list.all({ group: groupId, kind: filter.kind ?? null, retired: filter.includeRetired ? 1 : 0 }).map(toRecord),
    retire(id, at) {
      if (retire.run(at ?? ctx.now(), id).changes === 0) row(id); // retired already, or GKM_STORE_NOT_FOUND
    },
    moveNode: (groupId, keyId, treeNode, movedAtKeyId) => move.run(treeNode, movedAtKeyId, groupId, keyId).changes > 0,
    retireByKeyId: (groupId, keyId, at) => retireKeyId.run(at ?? ctx.now(), groupId, keyId).changes > 0,
    setExpiry(id, expiresAt) {
      row(id);
      expiry.run(expiresAt, id);
    },
    purgeRetired: (before) => purge.run(before).changes,
  };
  return repo;
}
