-- 005_lkh_leaves_derived: LKH leaf keys are derived, not stored (docs/decisions.md, "LKH leaf
-- keys derived from a sealed group secret and the leaf's Key ID").
-- A leaf's personal key is HMAC-SHA-256(group leaf secret, label | Key ID), cut to the KWA's
-- key size; Key IDs are never reused in a group, so no two leaves share a key. What a leaf
-- needs on disk is then only its place: this small table, written at the end of its primary
-- key (Key IDs grow), instead of a sealed key_material row with three indexes per join.
-- Leaves stored before this migration keep their key_material rows and are read as before.

-- Sealed per-group secrets that are not SA or tree-node keys (AES-256-GCM under the master
-- key, bound to the row's uid, like key_material.secret_enc).
CREATE TABLE group_secrets (
  id          INTEGER PRIMARY KEY,
  uid         TEXT NOT NULL UNIQUE,
  group_id    INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  purpose     TEXT NOT NULL CHECK (purpose IN ('lkh-leaf-keys')),
  secret_enc  BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (group_id, purpose)
) STRICT;

-- Live LKH leaves whose key is derived: Key ID, heap position, member. moved_at_key_id as in
-- key_material (migration 004): the group's next Key ID just before the operation that moved
-- the leaf one level down. member_id names the member without a foreign key: a leaf stays in
-- the tree until the member is evicted, whatever happens to its rows meanwhile.
CREATE TABLE lkh_leaves (
  group_id         INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  key_id           INTEGER NOT NULL CHECK (key_id > 0 AND key_id <= 4294967295),
  member_id        INTEGER NOT NULL,
  tree_node        INTEGER NOT NULL CHECK (tree_node > 0),
  moved_at_key_id  INTEGER CHECK (moved_at_key_id IS NULL OR moved_at_key_id > 0),
  PRIMARY KEY (group_id, key_id)
) STRICT, WITHOUT ROWID;
