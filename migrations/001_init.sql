-- 001_init: GCKS state (RFC 9838). Never edit after landing: add 002_....sql instead.
-- Times are INTEGER milliseconds since the Unix epoch. Columns ending in _enc hold
-- AES-256-GCM ciphertexts under the master key (src/store/secret-box.ts), bound to the
-- row's uid; public keys and identities are stored in clear.

-- Store-wide settings, e.g. the master key check value.
CREATE TABLE store_meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- Groups, named by IDg (RFC 9838 §4.2): ID type + normalized identity bytes.
CREATE TABLE groups (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  id_type     INTEGER NOT NULL,
  id_data     BLOB NOT NULL,
  member_cap  INTEGER CHECK (member_cap IS NULL OR member_cap > 0),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (id_type, id_data)
) STRICT;

-- One policy document per group (Data-Security SAs, Rekey SA, group-wide policy), as JSON
-- validated by src/gcks/policy; version grows on every change.
CREATE TABLE group_policies (
  group_id    INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
  version     INTEGER NOT NULL CHECK (version > 0),
  document    TEXT NOT NULL CHECK (json_valid(document)),
  updated_at  INTEGER NOT NULL
) STRICT;

-- Members: an identity and its credential (a PSK, encrypted, or a public key).
CREATE TABLE members (
  id          INTEGER PRIMARY KEY,
  uid         TEXT NOT NULL UNIQUE,
  id_type     INTEGER NOT NULL,
  id_data     BLOB NOT NULL,
  auth_kind   TEXT NOT NULL CHECK (auth_kind IN ('psk', 'public-key')),
  psk_enc     BLOB,
  public_key  BLOB,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (id_type, id_data),
  CHECK ((auth_kind = 'psk' AND psk_enc IS NOT NULL AND public_key IS NULL)
      OR (auth_kind = 'public-key' AND public_key IS NOT NULL AND psk_enc IS NULL))
) STRICT;

-- Authorization of a member for a group, with its role and Sender-ID limit.
CREATE TABLE group_members (
  group_id        INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  member_id       INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  role            TEXT NOT NULL CHECK (role IN ('sender', 'receiver', 'both')),
  max_sender_ids  INTEGER NOT NULL CHECK (max_sender_ids >= 0),
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id)
) STRICT;
CREATE INDEX group_members_by_member ON group_members (member_id);

-- Live registrations: one per (group, member); a new registration replaces it (RFC 9838 §2.3).
CREATE TABLE registrations (
  id             INTEGER PRIMARY KEY,
  group_id       INTEGER NOT NULL,
  member_id      INTEGER NOT NULL,
  ike_spi        BLOB NOT NULL,
  peer           TEXT NOT NULL,
  sender_ids     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(sender_ids)),
  leaf_key_id    INTEGER,
  registered_at  INTEGER NOT NULL,
  expires_at     INTEGER,
  UNIQUE (group_id, member_id),
  FOREIGN KEY (group_id, member_id) REFERENCES group_members (group_id, member_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX registrations_by_ike_spi ON registrations (ike_spi);

-- Key material: TEKs (Data-Security SAs), KEKs (Rekey SA), LKH node keys, the GCKS's
-- rekey signing key. key_id is the RFC 9838 §4.5.4 Key ID (LKH), spi the SA's SPI.
CREATE TABLE key_material (
  id            INTEGER PRIMARY KEY,
  uid           TEXT NOT NULL UNIQUE,
  group_id      INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('tek', 'kek', 'lkh-node', 'signing-key')),
  key_id        INTEGER CHECK (key_id IS NULL OR (key_id > 0 AND key_id <= 4294967295)),
  spi           BLOB,
  sa_name       TEXT,
  tree_node     INTEGER,
  member_id     INTEGER REFERENCES members (id) ON DELETE SET NULL,
  algorithm     TEXT,
  secret_enc    BLOB NOT NULL,
  public_key    BLOB,
  created_at    INTEGER NOT NULL,
  activates_at  INTEGER NOT NULL,
  expires_at    INTEGER,
  retired_at    INTEGER
) STRICT;
CREATE INDEX key_material_by_group ON key_material (group_id, kind, retired_at);
CREATE UNIQUE INDEX key_material_live_key_id ON key_material (group_id, key_id)
  WHERE key_id IS NOT NULL AND retired_at IS NULL;
CREATE UNIQUE INDEX key_material_live_spi ON key_material (spi)
  WHERE spi IS NOT NULL AND retired_at IS NULL;

-- Per-group Sender-ID counter (RFC 9838 §2.5.1): starts at 0, one step per ID granted.
CREATE TABLE sender_id_counters (
  group_id    INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
  next_value  INTEGER NOT NULL CHECK (next_value >= 0)
) STRICT;

-- Append-only audit log: who did what, when; never secrets. group_id/member_id are kept as
-- plain values so that entries outlive the rows they name.
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  group_id   INTEGER,
  member_id  INTEGER,
  detail     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_log_by_group ON audit_log (group_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
