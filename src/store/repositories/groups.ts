/** Groups (RFC 9838 §4.2: named by IDg) and their policy documents. */
import type { RepositoryContext, StoredIdentity } from './context.ts';
import { guarded, notFound } from './context.ts';

export interface GroupRecord {
  readonly id: number;
  /** Operator's label, unique. */
  readonly name: string;
  readonly identity: StoredIdentity;
  /** Most registered members at once; null = no cap. */
  readonly memberCap: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewGroup {
  readonly name: string;
  /** Normalized (src/gcks/groups/identity.ts). */
  readonly identity: StoredIdentity;
  readonly memberCap?: number | null;
}

export interface GroupChanges {
  readonly name?: string;
  readonly memberCap?: number | null;
}

export interface StoredPolicy {
  readonly groupId: number;
  /** 1 for the first policy, +1 on every change. */
  readonly version: number;
  /** Parsed JSON; its shape is src/gcks/policy's business. */
  readonly document: unknown;
  readonly updatedAt: number;
}

export interface GroupRepository {
  create(g: NewGroup): GroupRecord;
  get(id: number): GroupRecord | undefined;
  /** Like get, GKM_STORE_NOT_FOUND when absent. */
  require(id: number): GroupRecord;
  getByName(name: string): GroupRecord | undefined;
  findByIdentity(identity: StoredIdentity): GroupRecord | undefined;
  list(): GroupRecord[];
  update(id: number, changes: GroupChanges): GroupRecord;
  /** Removes the group with its policy, authorizations, registrations, keys and counter. */
  remove(id: number): boolean;
}

export interface PolicyRepository {
  /** Store a new version of the group's policy (the caller validated it). */
  put(groupId: number, document: unknown): StoredPolicy;
  get(groupId: number): StoredPolicy | undefined;
}

interface GroupRow {
  id: number;
  name: string;
  id_type: number;
  id_data: Buffer;
  member_cap: number | null;
  created_at: number;
  updated_at: number;
}

const toGroup = (r: GroupRow): GroupRecord => ({
  id: r.id,
  name: r.name,
  identity: { idType: r.id_type, data: r.id_data },
  memberCap: r.member_cap,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function groupRepository(ctx: RepositoryContext): GroupRepository {
  const { db } = ctx;
  const byId = db.prepare<[number], GroupRow>('SELECT * FROM groups WHERE id = ?');
  const byName = db.prepare<[string], GroupRow>('SELECT * FROM groups WHERE name = ?');
  const byIdentity = db.prepare<[number, Buffer], GroupRow>('SELECT * FROM groups WHERE id_type = ? AND id_data = ?');
  const all = db.prepare<[], GroupRow>('SELECT * FROM groups ORDER BY id');
  const insert = db.prepare('INSERT INTO groups (name, id_type, id_data, member_cap, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
  const del = db.prepare('DELETE FROM groups WHERE id = ?');
  const setName = db.prepare('UPDATE groups SET name = ?, updated_at = ? WHERE id = ?');
  const setCap = db.prepare('UPDATE groups SET member_cap = ?, updated_at = ? WHERE id = ?');

  const repo: GroupRepository = {
    create(g) {
      const t = ctx.now();
      const { lastInsertRowid } = guarded('groups', () => insert.run(g.name, g.identity.idType, g.identity.data, g.memberCap ?? null, t, t));
      return repo.require(Number(lastInsertRowid));
    },
    get: (id) => {
      const r = byId.get(id);
      return r && toGroup(r);
    },
    require: (id) => repo.get(id) ?? (() => { throw notFound('group', id); })(),
    getByName: (name) => {
      const r = byName.get(name);
      return r && toGroup(r);
    },
    findByIdentity: (identity) => {
      const r = byIdentity.get(identity.idType, identity.data);
      return r && toGroup(r);
    },
    list: () => all.all().map(toGroup),
    update(id, changes) {
      repo.require(id);
      const t = ctx.now();
      guarded('groups', () => {
        if (changes.name !== undefined) setName.run(changes.name, t, id);
        if (changes.memberCap !== undefined) setCap.run(changes.memberCap, t, id);
      });
      return repo.require(id);
    },
    remove: (id) => del.run(id).changes > 0,
  };
  return repo;
}

interface PolicyRow {
  group_id: number;
  version: number;
  document: string;
  updated_at: number;
}

export function policyRepository(ctx: RepositoryContext): PolicyRepository {
  const { db } = ctx;
  const get = db.prepare<[number], PolicyRow>('SELECT * FROM group_policies WHERE group_id = ?');
  const upsert = db.prepare(`INSERT INTO group_policies (group_id, version, document, updated_at) VALUES (?, 1, ?, ?)
    ON CONFLICT (group_id) DO UPDATE SET version = version + 1, document = excluded.document, updated_at = excluded.updated_at`);
  const repo: PolicyRepository = {
    put(groupId, document) {
      guarded('group_policies', () => upsert.run(groupId, JSON.stringify(document), ctx.now()));
      return repo.get(groupId)!;
    },
    get(groupId) {
      const r = get.get(groupId);
      return r && { groupId: r.group_id, version: r.version, document: JSON.parse(r.document) as unknown, updatedAt: r.updated_at };
    },
  };
  return repo;
}
