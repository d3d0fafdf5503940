/**
 * The key engine state of a group (RFC 9838 §3): a small JSON document owned by the
 * registration module (src/gcks/registration/group-key-store.ts) that names the group's
 * key_material rows in use and the Key ID counter. Secrets never go here: they stay sealed
 * in key_material.
 */
import type { RepositoryContext } from './context.ts';
import { guarded } from './context.ts';

export interface GroupKeyStateRepository {
  get(groupId: number): unknown;
  put(groupId: number, state: unknown): void;
}

export function groupKeyStateRepository(ctx: RepositoryContext): GroupKeyStateRepository {
  const { db } = ctx;
  const get = db.prepare<[number], { state: string }>('SELECT state FROM group_key_state WHERE group_id = ?');
  const put = db.prepare(`INSERT INTO group_key_state (group_id, state, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (group_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`);
  return {
    get: (groupId) => {
      const r = get.get(groupId);
      return r && (JSON.parse(r.state) as unknown);
    },
    put: (groupId, state) => {
      guarded('group_key_state', () => put.run(groupId, JSON.stringify(state), ctx.now()));
    },
  };
}
