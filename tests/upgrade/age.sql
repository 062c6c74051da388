-- Turns a database that this library loaded through an old release's API into what that
-- release's library stored: 0.1.0's checksums (numbers as written, keys in UTF-8 byte
-- order; src/pg/migrate.rs). Every checksum column gets its 0.1.0 value: rows and history
-- rows from their documents, previous checksums from the documents they name, and base
-- checksums that match what is below their overlay now (a stale overlay's base matches
-- nothing in either form and is kept). Prints how many values changed, so that the test
-- knows it migrated something. Runs as a superuser (C functions, replica role).
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
CREATE FUNCTION pg_temp.checksum_v1(doc jsonb) RETURNS text
IMMUTABLE STRICT LANGUAGE c AS '$libdir/metadata', '_checksum_v1_wrapper';
CREATE FUNCTION pg_temp.below_checksums(text, text, text, text, text, text, boolean) RETURNS text[]
STABLE LANGUAGE c AS '$libdir/metadata', '_below_checksums_wrapper';
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE aged (what text, n bigint);
WITH b AS (
    SELECT id, pg_temp.below_checksums(type, name, scope, tenant_id, owner, extends, state = 'draft') AS sums
    FROM metadata.sys_metadata WHERE base_checksum IS NOT NULL),
u AS (
    UPDATE metadata.sys_metadata m SET base_checksum = b.sums[2]
    FROM b WHERE m.id = b.id AND m.base_checksum = b.sums[1] AND b.sums[1] <> b.sums[2]
    RETURNING 1)
INSERT INTO aged SELECT 'base checksums', count(*) FROM u;
WITH u AS (
    UPDATE metadata.sys_metadata SET checksum = pg_temp.checksum_v1(metadata)
    WHERE checksum <> pg_temp.checksum_v1(metadata) RETURNING 1)
INSERT INTO aged SELECT 'row checksums', count(*) FROM u;
WITH m AS (
    SELECT DISTINCT metadata.checksum(metadata) AS new, pg_temp.checksum_v1(metadata) AS old
    FROM metadata.sys_metadata_history),
u AS (
    UPDATE metadata.sys_metadata_history h SET previous_checksum = m.old
    FROM m WHERE h.previous_checksum = m.new AND m.new <> m.old RETURNING 1)
INSERT INTO aged SELECT 'previous checksums', count(*) FROM u;
WITH u AS (
    UPDATE metadata.sys_metadata_history SET checksum = pg_temp.checksum_v1(metadata)
    WHERE checksum <> pg_temp.checksum_v1(metadata) RETURNING 1)
INSERT INTO aged SELECT 'history checksums', count(*) FROM u;
COMMIT;
SELECT string_agg(what || ' ' || n, ', ' ORDER BY what) FROM aged;
