-- 002_group_key_state: per-group key engine state beside the sealed key rows (RFC 9838 §3).
-- The keys themselves stay in key_material; this row says which of them are the group's
-- current and pending Rekey SA keys, where the Key ID counter stands, and what the open
-- LKH batch (joins/evictions not yet committed by a GSA_REKEY) looks like.
CREATE TABLE group_key_state (
  group_id    INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
  state       TEXT NOT NULL CHECK (json_valid(state)),
  updated_at  INTEGER NOT NULL
) STRICT;
