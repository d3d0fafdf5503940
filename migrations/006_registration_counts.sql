-- 006_registration_counts: how many members are registered in each group, kept by triggers, so
-- that the member cap check (RFC 9838 §2.3: REGISTRATION_FAILED when the group is full) is one
-- row read instead of COUNT(*) over the group's registrations: that count walked an index
-- entry per registered member, twice per join (899 registrations/s at 30,000 GMs in a capped
-- group against ~2,000 uncapped, and falling as the group grew).
-- The triggers also count rows other processes write or cascade away (a revoked
-- authorization deletes its registration), which an in-memory counter would miss.
CREATE TABLE group_registration_counts (
  group_id    INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
  registered  INTEGER NOT NULL CHECK (registered >= 0)
) STRICT;

INSERT INTO group_registration_counts (group_id, registered)
  SELECT group_id, COUNT(*) FROM registrations GROUP BY group_id;

CREATE TRIGGER registrations_counted AFTER INSERT ON registrations
BEGIN
  INSERT INTO group_registration_counts (group_id, registered) VALUES (NEW.group_id, 1)
    ON CONFLICT (group_id) DO UPDATE SET registered = registered + 1;
END;

CREATE TRIGGER registrations_uncounted AFTER DELETE ON registrations
BEGIN
  UPDATE group_registration_counts SET registered = registered - 1 WHERE group_id = OLD.group_id;
END;
