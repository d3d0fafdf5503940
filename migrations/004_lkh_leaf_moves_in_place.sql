-- 004_lkh_leaf_moves_in_place: a key-tree leaf that a split moves one level down keeps its key
-- and Key ID (RFC 9838 Appendix A); its live key_material row is now updated in place
-- (tree_node, moved_at_key_id) instead of being retired and stored again as a new row. The
-- retirement wrote the old row's table page and three index pages at random places (about
-- 1.3 extra pages per registration in the WAL) and a new sealed row.
-- moved_at_key_id: the group's next Key ID just before the operation that moved the node, so
-- that a restart can tell the leaves moved in the open LKH batch (those with a value at or
-- above the batch's first Key ID). NULL: not moved since it was stored.
ALTER TABLE key_material ADD COLUMN moved_at_key_id INTEGER
  CHECK (moved_at_key_id IS NULL OR moved_at_key_id > 0);
