/**
 * Members (an identity and its credential) and their authorizations for groups (role,
 * Sender-ID limit). A member authenticates once per IKE SA and may then join several groups
 * over it (GSA_REGISTRATION, RFC 9838 §2.3.2), so credentials belong to the member, not to
 * one group. PSKs are sealed under the master key; public keys (SPKI) are stored in clear.
 */
import type { SecretPlace } from '../secret-box.ts';
import type { RepositoryContext, StoredIdentity } from './context.ts';
import { guarded, newUid, notFound } from './context.ts';

export type MemberCredential =
  | { readonly kind: 'psk'; readonly psk: Buffer }
  /** DER SubjectPublicKeyInfo. */
  | { readonly kind: 'public-key'; readonly spki: Buffer };

export interface MemberRecord {
  readonly id: number;
  readonly identity: StoredIdentity;
  readonly credentialKind: MemberCredential['kind'];
  /** The SPKI when credentialKind is public-key (not a secret). */
  readonly publicKey: Buffer | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type MemberRole = 'sender' | 'receiver' | 'both';

export interface Authorization {
  readonly groupId: number;
  readonly memberId: number;
  readonly role: MemberRole;
  /** Most Sender-IDs granted per registration (RFC 9838 §2.5.1 "policy cap"). */
  readonly maxSenderIds: number;
  readonly createdAt: number;
}

export interface MemberRepository {
  create(identity: StoredIdentity, credential: MemberCredential): MemberRecord;
  get(id: number): MemberRecord | undefined;
  require(id: number): MemberRecord;
  findByIdentity(identity: StoredIdentity): MemberRecord | undefined;
  list(): MemberRecord[];
  /** The decrypted credential; GKM_STORE_SECRET_CORRUPT if it does not authenticate. */
  credential(id: number): MemberCredential;
  setCredential(id: number, credential: MemberCredential): void;
  remove(id: number): boolean;

  /** Authorize (or re-authorize with new settings) a member for a group. */
  authorize(groupId: number, memberId: number, a: { readonly role: MemberRole; readonly maxSenderIds: number }): Authorization;
  revoke(groupId: number, memberId: number): boolean;
  authorization(groupId: number, memberId: number): Authorization | undefined;
  authorizationsForGroup(groupId: number): Authorization[];
  authorizationsForMember(memberId: number): Authorization[];
}

interface MemberRow {
  id: number;
  uid: string;
  id_type: number;
  id_data: Buffer;
  auth_kind: 'psk' | 'public-key';
  psk_enc: Buffer | null;
  public_key: Buffer | null;
  created_at: number;
  updated_at: number;
}

interface AuthorizationRow {
  group_id: number;
  member_id: number;
  role: MemberRole;
  max_sender_ids: number;
  created_at: number;
}

export const MEMBER_PSK_COLUMN = { table: 'members', column: 'psk_enc' } as const;
const pskPlace = (uid: string): SecretPlace => ({ ...MEMBER_PSK_COLUMN, uid });

type RecordRow = Omit<MemberRow, 'uid' | 'psk_enc'>;

const toMember = (r: RecordRow): MemberRecord => ({
  id: r.id,
  identity: { idType: r.id_type, data: r.id_data },
  credentialKind: r.auth_kind,
  publicKey: r.public_key,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toAuthorization = (r: AuthorizationRow): Authorization => ({
  groupId: r.group_id,
  memberId: r.member_id,
  role: r.role,
  maxSenderIds: r.max_sender_ids,
  createdAt: r.created_at,
});

export function memberRepository(ctx: RepositoryContext): MemberRepository {
  const { db } = ctx;
  // Records leave the sealed PSK (and the uid, its AAD) in the database: one Buffer less per
  // look-up (a GSA_AUTH looks its member up by identity); credential() reads them.
  const RECORD = 'id, id_type, id_data, auth_kind, public_key, created_at, updated_at';
  const byId = db.prepare<[number], MemberRow>('SELECT * FROM members WHERE id = ?');
  const recordById = db.prepare<[number], RecordRow>(`SELECT ${RECORD} FROM members WHERE id = ?`);
  const byIdentity = db.prepare<[number, Buffer], RecordRow>(`SELECT ${RECORD} FROM members WHERE id_type = ? AND id_data = ?`);
  const credentialOf = db.prepare<[number], Pick<MemberRow, 'uid' | 'auth_kind' | 'psk_enc' | 'public_key'>>('SELECT uid, auth_kind, psk_enc, public_key FROM members WHERE id = ?');
  const all = db.prepare<[], RecordRow>(`SELECT ${RECORD} FROM members ORDER BY id`);
  const insert = db.prepare(
    'INSERT INTO members (uid, id_type, id_data, auth_kind, psk_enc, public_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const update = db.prepare('UPDATE members SET auth_kind = ?, psk_enc = ?, public_key = ?, updated_at = ? WHERE id = ?');
  const del = db.prepare('DELETE FROM members WHERE id = ?');
  const upsertAuth = db.prepare(`INSERT INTO group_members (group_id, member_id, role, max_sender_ids, created_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (group_id, member_id) DO UPDATE SET role = excluded.role, max_sender_ids = excluded.max_sender_ids`);
  const getAuth = db.prepare<[number, number], AuthorizationRow>('SELECT * FROM group_members WHERE group_id = ? AND member_id = ?');
  const authsForGroup = db.prepare<[number], AuthorizationRow>('SELECT * FROM group_members WHERE group_id = ? ORDER BY member_id');
  const authsForMember = db.prepare<[number], AuthorizationRow>('SELECT * FROM group_members WHERE member_id = ? ORDER BY group_id');
  const delAuth = db.prepare('DELETE FROM group_members WHERE group_id = ? AND member_id = ?');

  const columns = (uid: string, c: MemberCredential): [string, Buffer | null, Buffer | null] =>
    c.kind === 'psk' ? ['psk', ctx.secrets().seal(c.psk, pskPlace(uid)), null] : ['public-key', null, Buffer.from(c.spki)];

  const row = (id: number): MemberRow => byId.get(id) ?? (() => { throw notFound('member', id); })();

  const repo: MemberRepository = {
    create(identity, credential) {
      const uid = newUid();
      const t = ctx.now();
      const { lastInsertRowid } = guarded('members', () => insert.run(uid, identity.idType, identity.data, ...columns(uid, credential), t, t));
      return repo.require(Number(lastInsertRowid));
    },
    get: (id) => {
      const r = recordById.get(id);
      return r && toMember(r);
    },
    require: (id) => toMember(recordById.get(id) ?? (() => { throw notFound('member', id); })()),
    findByIdentity: (identity) => {
      const r = byIdentity.get(identity.idType, identity.data);
      return r && toMember(r);
    },
    list: () => all.all().map(toMember),
    credential(id) {
      const r = credentialOf.get(id) ?? (() => { throw notFound('member', id); })(); // only the columns it needs: once per GSA_AUTH
      if (r.auth_kind === 'public-key') return { kind: 'public-key', spki: r.public_key! };
      return { kind: 'psk', psk: ctx.secrets().open(r.psk_enc!, pskPlace(r.uid)) };
    },
    setCredential(id, credential) {
      const r = row(id);
      update.run(...columns(r.uid, credential), ctx.now(), id);
    },
    remove: (id) => del.run(id).changes > 0,

    authorize(groupId, memberId, a) {
      guarded('group_members', () => upsertAuth.run(groupId, memberId, a.role, a.maxSenderIds, ctx.now()));
      return repo.authorization(groupId, memberId)!;
    },
    revoke: (groupId, memberId) => delAuth.run(groupId, memberId).changes > 0,
    authorization: (groupId, memberId) => {
      const r = getAuth.get(groupId, memberId);
      return r && toAuthorization(r);
    },
    authorizationsForGroup: (groupId) => authsForGroup.all(groupId).map(toAuthorization),
    authorizationsForMember: (memberId) => authsForMember.all(memberId).map(toAuthorization),
  };
  return repo;
}
