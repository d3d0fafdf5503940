/**
 * Live registrations: which member holds the group's keys, over which IKE SA, with which
 * Sender-IDs and LKH leaf. One per (group, member): a successful registration replaces all
 * of the member's earlier state for the group (RFC 9838 §2.3, digest §9).
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { RepositoryContext } from './context.ts';
import { guarded } from './context.ts';

export interface RegistrationRecord {
  readonly id: number;
  readonly groupId: number;
  readonly memberId: number;
  /** SPIi || SPIr of the IKE SA the member registered over (16 bytes). */
  readonly ikeSpi: Buffer;
  /** Peer address and port, e.g. "192.0.2.7:4500" or "[2001:db8::7]:500". */
  readonly peer: string;
  /** Sender-IDs granted at this registration (RFC 9838 §2.5.1). */
  readonly senderIds: readonly number[];
  /** Key ID of the member's LKH leaf key, if the group uses a key tree. */
  readonly leafKeyId: number | null;
  readonly registeredAt: number;
  readonly expiresAt: number | null;
}

export type NewRegistration = Omit<RegistrationRecord, 'id' | 'registeredAt' | 'senderIds' | 'leafKeyId' | 'expiresAt'> & {
  readonly senderIds?: readonly number[];
  readonly leafKeyId?: number | null;
  readonly expiresAt?: number | null;
};

export interface RegistrationRepository {
  /**
   * Insert or replace the member's registration for the group. With `memberCap`, a member
   * not yet registered is refused with GKM_GCKS_GROUP_FULL (REGISTRATION_FAILED) once the
   * group has that many registrations; check and insert are one transaction.
   */
  put(r: NewRegistration, opts?: { readonly memberCap?: number | null }): RegistrationRecord;
  get(groupId: number, memberId: number): RegistrationRecord | undefined;
  /** Whether the member is registered for the group (no row read: cheaper than get). */
  has(groupId: number, memberId: number): boolean;
  /**
   * Whether the member is registered for the group already; if not and `memberCap` is set,
   * GKM_GCKS_GROUP_FULL (REGISTRATION_FAILED) once the group has that many registrations.
   * `groupLabel` names the group in the error (default "group <id>").
   */
  admit(groupId: number, memberId: number, memberCap: number | null | undefined, groupLabel?: string): boolean;
  listForGroup(groupId: number): RegistrationRecord[];
  listForIkeSa(ikeSpi: Buffer): RegistrationRecord[];
  countForGroup(groupId: number): number;
  remove(groupId: number, memberId: number): boolean;
  /** When an IKE SA goes away with registrations that are not kept; returns how many. */
  removeForIkeSa(ikeSpi: Buffer): number;
}

interface RegistrationRow {
  id: number;
  group_id: number;
  member_id: number;
  ike_spi: Buffer;
  peer: string;
  sender_ids: string;
  leaf_key_id: number | null;
  registered_at: number;
  expires_at: number | null;
}

const toRegistration = (r: RegistrationRow): RegistrationRecord => ({
  id: r.id,
  groupId: r.group_id,
  memberId: r.member_id,
  ikeSpi: r.ike_spi,
  peer: r.peer,
  senderIds: JSON.parse(r.sender_ids) as number[],
  leafKeyId: r.leaf_key_id,
  registeredAt: r.registered_at,
  expiresAt: r.expires_at,
});

export function registrationRepository(ctx: RepositoryContext): RegistrationRepository {
  const { db } = ctx;
  const upsert = db.prepare(`INSERT INTO registrations (group_id, member_id, ike_spi, peer, sender_ids, leaf_key_id, registered_at, expires_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (group_id, member_id) DO UPDATE SET ike_spi = excluded.ike_spi, peer = excluded.peer, sender_ids = excluded.sender_ids,
      leaf_key_id = excluded.leaf_key_id, registered_at = excluded.registered_at, expires_at = excluded.expires_at
    RETURNING id`).pluck();
  const get = db.prepare<[number, number], RegistrationRow>('SELECT * FROM registrations WHERE group_id = ? AND member_id = ?');
  const has = db.prepare<[number, number], number>('SELECT 1 FROM registrations WHERE group_id = ? AND member_id = ?').pluck();
  const forGroup = db.prepare<[number], RegistrationRow>('SELECT * FROM registrations WHERE group_id = ? ORDER BY id');
  const forIke = db.prepare<[Buffer], RegistrationRow>('SELECT * FROM registrations WHERE ike_spi = ? ORDER BY id');
  // Kept by triggers (migration 006): one row read, not a walk over the group's registrations.
  const count = db.prepare<[number], { n: number }>('SELECT registered AS n FROM group_registration_counts WHERE group_id = ?');
  const del = db.prepare('DELETE FROM registrations WHERE group_id = ? AND member_id = ?');
  const delIke = db.prepare('DELETE FROM registrations WHERE ike_spi = ?');

  const repo: RegistrationRepository = {
    put(r, opts = {}) {
      const write = (): RegistrationRecord => {
        const senderIds = r.senderIds ?? [];
        const t = ctx.now();
        const leafKeyId = r.leafKeyId ?? null;
        const expiresAt = r.expiresAt ?? null;
        const id = guarded('registrations', () => upsert.get(r.groupId, r.memberId, r.ikeSpi, r.peer, JSON.stringify(senderIds), leafKeyId, t, expiresAt)) as number;
        // The record from what was written (only the row id read back).
        return { id, groupId: r.groupId, memberId: r.memberId, ikeSpi: Buffer.from(r.ikeSpi), peer: r.peer, senderIds: [...senderIds], leafKeyId, registeredAt: t, expiresAt };
      };
      const cap = opts.memberCap;
      if (cap == null) return write(); // one statement: no transaction of its own needed
      const capped = (): RegistrationRecord => {
        repo.admit(r.groupId, r.memberId, cap);
        return write();
      };
      // Reads, then one write as the last step: inside an open transaction nothing is left to
      // undo when it fails (no savepoint of its own); alone, one transaction for check and write.
      return ctx.tx.open ? capped() : ctx.tx.run(capped);
    },
    get: (groupId, memberId) => {
      const r = get.get(groupId, memberId);
      return r && toRegistration(r);
    },
    has: (groupId, memberId) => has.get(groupId, memberId) !== undefined,
    admit(groupId, memberId, memberCap, groupLabel = `group ${groupId}`) {
      const registered = repo.has(groupId, memberId);
      if (memberCap != null && !registered && repo.countForGroup(groupId) >= memberCap) {
        throw new GkmError('GKM_GCKS_GROUP_FULL', { field: groupLabel, detail: `${memberCap} member(s) registered` });
      }
      return registered;
    },
    listForGroup: (groupId) => forGroup.all(groupId).map(toRegistration),
    listForIkeSa: (ikeSpi) => forIke.all(ikeSpi).map(toRegistration),
    countForGroup: (groupId) => count.get(groupId)?.n ?? 0,
    remove: (groupId, memberId) => del.run(groupId, memberId).changes > 0,
    removeForIkeSa: (ikeSpi) => delIke.run(ikeSpi).changes,
  };
  return repo;
}
