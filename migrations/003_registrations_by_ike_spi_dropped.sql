-- 003_registrations_by_ike_spi_dropped: no index on registrations.ike_spi. Its keys are random
-- 16-octet SPIs, so every registration inserted into a random leaf page of it (a page more to
-- journal in the registration's savepoint, to write at COMMIT and to keep in the page cache),
-- and nothing on a hot path reads by it: listForIkeSa / removeForIkeSa (when an IKE SA goes
-- away with registrations not kept) scan the table instead, once per such IKE SA.
DROP INDEX registrations_by_ike_spi;
