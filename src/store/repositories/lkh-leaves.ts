/**
 * LKH leaves whose key is derived (migration 005): Key ID, heap position and member, no
 * secret. The key-tree node keys that are random stay sealed in key_material ('lkh-node').
 * Rows are keyed by (group, Key ID); Key IDs only grow, so a join appends at the end of the
 * table. A leaf leaves the table when its member is evicted (nothing needs its key after).
 */
import type { RepositoryContext } from './context.ts';
import { guarded } from './context.ts';

export interface LkhLeafRecord {
  readonly groupId: number;
  readonly keyId: number;
  readonly memberId: number;
  readonly treeNode: number;
  /** The group's next Key ID before the operation that last moved the leaf; null if never moved. */
  readonly movedAtKeyId: number | null;
}

export interface LkhLeafRepository {
  add(leaf: Omit<LkhLeafRecord, 'movedAtKeyId'>): void;
  /** The leaf with this Key ID moved to `treeNode` (a split); whether there was one. */
  move(groupId: number, keyId: number, treeNode: number, movedAtKeyId: number): boolean;
  /** The leaf with this Key ID removed; whether there was one. */
  remove(groupId: number, keyId: number): boolean;
  /** The group's leaves, by Key ID. */
  list(groupId: number): LkhLeafRecord[];
}

interface LeafRow {
  key_id: number;
  member_id: number;
  tree_node: number;
  moved_at_key_id: number | null;
}

export function lkhLeafRepository(ctx: RepositoryContext): LkhLeafRepository {
  const { db } = ctx;
  const insert = db.prepare('INSERT INTO lkh_leaves (group_id, key_id, member_id, tree_node) VALUES (?, ?, ?, ?)');
  const move = db.prepare('UPDATE lkh_leaves SET tree_node = ?, moved_at_key_id = ? WHERE group_id = ? AND key_id = ?');
  const remove = db.prepare('DELETE FROM lkh_leaves WHERE group_id = ? AND key_id = ?');
  const list = db.prepare<[number], LeafRow>('SELECT key_id, member_id, tree_node, moved_at_key_id FROM lkh_leaves WHERE group_id = ? ORDER BY key_id');
  return {
    add: (l) => {
      guarded('lkh_leaves', () => insert.run(l.groupId, l.keyId, l.memberId, l.treeNode));
    },
    move: (groupId, keyId, treeNode, movedAtKeyId) => move.run(treeNode, movedAtKeyId, groupId, keyId).changes > 0,
    remove: (groupId, keyId) => remove.run(groupId, keyId).changes > 0,
    list: (groupId) => list.all(groupId).map((r) => ({ groupId, keyId: r.key_id, memberId: r.member_id, treeNode: r.tree_node, movedAtKeyId: r.moved_at_key_id })),
  };
}
