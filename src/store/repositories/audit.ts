/**
 * Append-only audit log (who, what, when; never secrets). The table refuses UPDATE and
 * DELETE by trigger; `append` refuses details that look like secrets: a field named like
 * one of SECRET_FIELD_NAMES, or binary data.
 */
import type { Statement } from 'better-sqlite3';
import { GkmError } from '../../ikev2/errors.ts';
import type { RepositoryContext } from './context.ts';

/** Field names that hold secrets; shared with the logger's redaction (src/gcks/config/logger.ts). */
export const SECRET_FIELD_NAMES: readonly string[] = ['key', 'psk', 'secret', 'secrets', 'privateKey', 'masterKey', 'password', 'keymat', 'keyMaterial'];

const SECRET_NAMES = new Set(SECRET_FIELD_NAMES.map((n) => n.toLowerCase()));

export type AuditValue = string | number | boolean | null | readonly AuditValue[] | { readonly [k: string]: AuditValue };

export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  /** "admin:alice", "gcks", "member:<id text>"… */
  readonly actor: string;
  /** Dotted verb, e.g. "group.create", "member.authorize", "rekey.evict". */
  readonly action: string;
  readonly groupId: number | null;
  readonly memberId: number | null;
  readonly detail: { readonly [k: string]: AuditValue };
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at' | 'groupId' | 'memberId' | 'detail'> & {
  readonly groupId?: number | null;
  readonly memberId?: number | null;
  readonly detail?: { readonly [k: string]: AuditValue };
};

export interface AuditQuery {
  readonly groupId?: number;
  /** Entries with id > afterId. */
  readonly afterId?: number;
  readonly limit?: number;
}

export interface AuditRepository {
  append(e: NewAuditEntry): AuditEntry;
  list(q?: AuditQuery): AuditEntry[];
}

/** Why `v` may hold a secret, or null. */
function secretProblem(v: unknown, path: string): string | null {
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) return `${path} is binary data`;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = secretProblem(x, `${path}[${i}]`);
      if (p) return p;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (SECRET_NAMES.has(k.toLowerCase())) return `${path}.${k} is named like a secret`;
      const p = secretProblem(x, `${path}.${k}`);
      if (p) return p;
    }
  }
  return null;
}

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  group_id: number | null;
  member_id: number | null;
  detail: string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  groupId: r.group_id,
  memberId: r.member_id,
  detail: JSON.parse(r.detail) as AuditEntry['detail'],
});

/** Rows per multi-row INSERT when deferred entries are written (largest first). */
const CHUNKS = [64, 16, 4, 1] as const;
const COLUMNS = 7; // id, at, actor, action, group_id, member_id, detail

export function auditRepository(ctx: RepositoryContext): AuditRepository {
  const { db } = ctx;
  const insert = db.prepare('INSERT INTO audit_log (at, actor, action, group_id, member_id, detail) VALUES (?, ?, ?, ?, ?, ?)');
  const list = db.prepare<{ group: number | null; after: number; limit: number }, AuditRow>(`SELECT * FROM audit_log
    WHERE (:group IS NULL OR group_id = :group) AND id > :after ORDER BY id LIMIT :limit`);
  const lastId = db.prepare<[], number | null>('SELECT max(id) FROM audit_log').pluck();
  const inserts = new Map<number, Statement<unknown[]>>();
  const insertRows = (n: number) => {
    let stmt = inserts.get(n);
    if (!stmt) {
      const values = Array.from({ length: n }, () => `(${Array(COLUMNS).fill('?').join(', ')})`).join(', ');
      stmt = db.prepare<unknown[]>(`INSERT INTO audit_log (id, at, actor, action, group_id, member_id, detail) VALUES ${values}`);
      inserts.set(n, stmt);
    }
    return stmt;
  };

  // Inside a group-commit batch (which holds the write lock from its BEGIN IMMEDIATE), entries
  // wait in memory and go into the database as multi-row INSERTs just before the COMMIT: out
  // of each registration's savepoint, one statement for many rows. Their ids are numbered
  // here from the table's last id, as SQLite would; a savepoint that rolls back drops its own.
  let pending: AuditRow[] = [];
  let firstId = 0;
  const flush = (): void => {
    const rows = pending;
    pending = [];
    let at = 0;
    for (const n of CHUNKS) {
      for (; rows.length - at >= n; at += n) {
        const params: unknown[] = [];
        for (let i = at; i < at + n; i++) {
          const r = rows[i]!;
          params.push(r.id, r.at, r.actor, r.action, r.group_id, r.member_id, r.detail);
        }
        insertRows(n).run(...params);
      }
    }
  };
  ctx.tx.defer({
    mark: () => pending.length,
    dropTo: (mark) => {
      if (pending.length > mark) pending.length = mark;
    },
    flush,
  });

  return {
    append(e) {
      const detail = e.detail ?? {};
      const bad = secretProblem(detail, 'detail');
      if (bad) throw new GkmError('GKM_STORE_AUDIT_SECRET', { field: e.action, detail: bad });
      const row: Omit<AuditRow, 'id'> = { at: ctx.now(), actor: e.actor, action: e.action, group_id: e.groupId ?? null, member_id: e.memberId ?? null, detail: JSON.stringify(detail) };
      if (ctx.tx.inBatch) {
        if (pending.length === 0) firstId = (lastId.get() ?? 0) + 1;
        const deferred = { ...row, id: firstId + pending.length };
        pending.push(deferred);
        return toEntry(deferred);
      }
      const { lastInsertRowid } = insert.run(row.at, row.actor, row.action, row.group_id, row.member_id, row.detail);
      return toEntry({ ...row, id: Number(lastInsertRowid) }); // as stored, without reading it back
    },
    list(q = {}) {
      const group = q.groupId ?? null;
      const after = q.afterId ?? 0;
      const limit = q.limit ?? 1000;
      const stored = list.all({ group, after, limit });
      // Entries of the open batch not yet written come after every stored one.
      const waiting = pending.filter((r) => (group === null || r.group_id === group) && r.id > after);
      return [...stored, ...waiting].slice(0, limit).map(toEntry);
    },
  };
}
