-- metadata 0.1.0 -> 0.2.0 (ALTER EXTENSION metadata UPDATE TO '0.2.0').
-- Every change to the extension's SQL objects since 0.1.0 is written here, in the same
-- commit as the change; tests/upgrade/upgrade.sh checks that a 0.1.0 database updated by
-- this script has the same catalog as a fresh CREATE EXTENSION of 0.2.0.
\echo Use "ALTER EXTENSION metadata UPDATE TO '0.2.0'" to load this file. \quit

-- Each SQL-callable Rust function is now named as its SQL function, and binds the symbol
-- of that name (src/pg/legacy.rs keeps 0.1.0's symbols for 0.1.0 install scripts). The
-- write helpers _below_checksum, _check_write, _check_references and _document_checksum
-- are dropped below instead.
CREATE OR REPLACE FUNCTION metadata._builtin_types()
RETURNS TABLE (name text, domain text, schema jsonb, reference_paths jsonb, locked_paths text[])
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_builtin_types_wrapper';
CREATE OR REPLACE FUNCTION metadata._canonical(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_canonical_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_schema(type_name text, schema text) RETURNS void
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_check_schema_wrapper';
CREATE OR REPLACE FUNCTION metadata._checksum(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_checksum_wrapper';
CREATE OR REPLACE FUNCTION metadata._diff(a text, b text) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_diff_wrapper';
CREATE OR REPLACE FUNCTION metadata._effective(type_name text, name text, preview boolean) RETURNS jsonb
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_effective_wrapper';
CREATE OR REPLACE FUNCTION metadata._effective_all(type_name text, preview boolean)
RETURNS TABLE (name text, doc jsonb)
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_effective_all_wrapper';
CREATE OR REPLACE FUNCTION metadata._explain(type_name text, name text, preview boolean)
RETURNS TABLE (ordinal integer, item text, scope text, tenant_id text, owner text, strategy text,
               state text, version integer, extends text, checksum text, base_checksum text, stale boolean)
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_explain_wrapper';
CREATE OR REPLACE FUNCTION metadata._is_valid(type_name text, doc text) RETURNS boolean
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_is_valid_wrapper';
CREATE OR REPLACE FUNCTION metadata._merge_patch(target text, patch text) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_merge_patch_wrapper';
CREATE OR REPLACE FUNCTION metadata._validate(type_name text, doc text) RETURNS jsonb
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_validate_wrapper';

-- The library's version, and metadata.version() beside the installed SQL's.
CREATE FUNCTION metadata._library_version() RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_library_version_wrapper';
CREATE FUNCTION metadata.version(OUT extension text, OUT library text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT e.extversion, metadata._library_version()
    FROM pg_catalog.pg_extension e WHERE e.extname = 'metadata';
END;
COMMENT ON FUNCTION metadata.version() IS
  'The version of the extension''s SQL installed in this database (extension) and of the '
  'loaded library (library). They differ after the library is replaced until ALTER '
  'EXTENSION metadata UPDATE runs; the library keeps serving the older SQL meanwhile.';

-- Restores are recognised by row_security = off and a login that bypasses row level
-- security, no longer by application_name (plain-format dumps restored by psql too).
CREATE FUNCTION metadata._restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.current_setting('row_security') = 'off'
   AND (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = session_user);

-- The history trigger is the library's (src/pg/history.rs): it writes the history row as
-- the extension's owner (no SECURITY DEFINER function any more), names who deletes a row
-- itself (the BEFORE DELETE helper goes), and tells the feed step which rows to number (the
-- index of unnumbered rows goes).
CREATE OR REPLACE FUNCTION metadata."sys_metadata_after_write"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'sys_metadata_after_write_wrapper';
-- Rows a logical replication subscription applies note the change buckets (sql/history.sql).
CREATE FUNCTION metadata."sys_metadata_after_replicated_write"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'sys_metadata_after_replicated_write_wrapper';
CREATE TRIGGER sys_metadata_after_replicated_write
    AFTER INSERT OR UPDATE OR DELETE ON metadata.sys_metadata
    FOR EACH ROW EXECUTE FUNCTION metadata.sys_metadata_after_replicated_write();
ALTER TABLE metadata.sys_metadata ENABLE REPLICA TRIGGER sys_metadata_after_replicated_write;
DROP TRIGGER sys_metadata_before_delete ON metadata.sys_metadata;
DROP FUNCTION metadata.sys_metadata_before_delete();
DROP INDEX metadata.sys_metadata_history_unsequenced;
-- Rows not numbered yet (between their insert and their commit) are left out of the index
-- of feed positions: each insert adds one index entry fewer, and the feed step finds its
-- rows by id instead of walking the entries of unnumbered (mostly dead) rows.
ALTER TABLE metadata.sys_metadata_history DROP CONSTRAINT sys_metadata_history_seq_key;
CREATE UNIQUE INDEX sys_metadata_history_seq ON metadata.sys_metadata_history (seq)
    WHERE seq IS NOT NULL;
-- The changes still waiting for their feed position (preloaded mode: the feed worker numbers
-- them after their commit; plain mode: a row is in it from its insert to its commit).
CREATE INDEX sys_metadata_history_unnumbered ON metadata.sys_metadata_history (id)
    WHERE seq IS NULL;

-- Built-in types: customised means "differs from the library's registration", kept true by
-- the type trigger; _sync_builtin_types refreshes the others (run at the end of this script).
CREATE FUNCTION metadata._builtin_registrations()
RETURNS TABLE (name text, domain text, description text, schema jsonb, validation_mode text,
               locked_paths text[], reference_paths jsonb, check_references boolean,
               supports_overlay boolean, allow_runtime_create boolean,
               supports_versioning boolean, load_order integer)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT b.name, b.domain, NULL::text, b.schema, 'strict', b.locked_paths, b.reference_paths,
           false, true, true, true, 100
    FROM metadata._builtin_types() AS b;
END;

CREATE FUNCTION metadata._customised(t metadata.sys_metadata_type) RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT EXISTS (
        SELECT 1 FROM metadata._builtin_registrations() AS b
        WHERE b.name = t.name
          AND (b.domain, b.description, b.schema, b.validation_mode, b.locked_paths,
               b.reference_paths, b.check_references, b.supports_overlay,
               b.allow_runtime_create, b.supports_versioning, b.load_order)
              IS DISTINCT FROM
              (t.domain, t.description, t.schema, t.validation_mode, t.locked_paths,
               t.reference_paths, t.check_references, t.supports_overlay,
               t.allow_runtime_create, t.supports_versioning, t.load_order));
END;

CREATE FUNCTION metadata._sync_builtin_types() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    updated integer;
    inserted integer;
BEGIN
    UPDATE metadata.sys_metadata_type t
    SET domain = b.domain, description = b.description, schema = b.schema,
        validation_mode = b.validation_mode, locked_paths = b.locked_paths,
        reference_paths = b.reference_paths, check_references = b.check_references,
        supports_overlay = b.supports_overlay, allow_runtime_create = b.allow_runtime_create,
        supports_versioning = b.supports_versioning, load_order = b.load_order
    FROM metadata._builtin_registrations() AS b
    WHERE t.name = b.name AND t.builtin AND NOT t.customised AND metadata._customised(t);
    GET DIAGNOSTICS updated = ROW_COUNT;
    INSERT INTO metadata.sys_metadata_type
        (name, domain, description, schema, validation_mode, locked_paths, reference_paths,
         check_references, supports_overlay, allow_runtime_create, supports_versioning,
         load_order, builtin)
    SELECT b.name, b.domain, b.description, b.schema, b.validation_mode, b.locked_paths,
           b.reference_paths, b.check_references, b.supports_overlay, b.allow_runtime_create,
           b.supports_versioning, b.load_order, true
    FROM metadata._builtin_registrations() AS b
    WHERE NOT EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = b.name);
    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN updated + inserted;
END
$fn$;

-- It fires always: also for the rows a logical replication subscription applies, which keep
-- the publisher's values (sql/schema.sql).
CREATE OR REPLACE FUNCTION metadata.sys_metadata_type_before_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF current_setting('session_replication_role') = 'replica' THEN
        IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = NEW.name) THEN
            UPDATE metadata.sys_metadata_type t
            SET domain = NEW.domain, description = NEW.description, schema = NEW.schema,
                schema_checksum = NEW.schema_checksum, validation_mode = NEW.validation_mode,
                locked_paths = NEW.locked_paths, reference_paths = NEW.reference_paths,
                check_references = NEW.check_references, supports_overlay = NEW.supports_overlay,
                allow_runtime_create = NEW.allow_runtime_create,
                supports_versioning = NEW.supports_versioning, load_order = NEW.load_order,
                builtin = NEW.builtin, customised = NEW.customised,
                created_at = NEW.created_at, updated_at = NEW.updated_at
            WHERE t.name = NEW.name;
            RETURN NULL;
        END IF;
        RETURN NEW;
    END IF;
    NEW.schema_checksum := CASE WHEN NEW.schema IS NULL THEN NULL
                                ELSE metadata.checksum(NEW.schema) END;
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = NEW.name) THEN
        UPDATE metadata.sys_metadata_type t
        SET domain = NEW.domain, description = NEW.description, schema = NEW.schema,
            validation_mode = NEW.validation_mode, locked_paths = NEW.locked_paths,
            reference_paths = NEW.reference_paths, check_references = NEW.check_references,
            supports_overlay = NEW.supports_overlay,
            allow_runtime_create = NEW.allow_runtime_create,
            supports_versioning = NEW.supports_versioning, load_order = NEW.load_order
        WHERE t.name = NEW.name;
        RETURN NULL;
    END IF;
    IF NEW.builtin THEN
        NEW.customised := metadata._customised(NEW);
    END IF;
    RETURN NEW;
END
$fn$;
ALTER TABLE metadata.sys_metadata_type ENABLE ALWAYS TRIGGER sys_metadata_type_before_write;

-- The privileges rule (sql/security.sql), applied at the end of this script.
CREATE FUNCTION metadata._grant_privileges() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    g record;
BEGIN
    FOR g IN
        WITH objects(kind, object, acl, explicit) AS (
            SELECT 'SCHEMA', n.nspname::text, coalesce(n.nspacl, acldefault('n', n.nspowner)),
                   n.nspacl IS NOT NULL
            FROM pg_namespace n WHERE n.nspname = 'metadata'
            UNION ALL
            SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass::text,
                   coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
                   c.relacl IS NOT NULL
            FROM pg_class c
            WHERE c.relnamespace = 'metadata'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
            UNION ALL
            SELECT 'ROUTINE', p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f', p.proowner)),
                   p.proacl IS NOT NULL
            FROM pg_proc p WHERE p.pronamespace = 'metadata'::regnamespace),
        present(kind, object, grantee, privilege) AS (
            SELECT o.kind, o.object, coalesce(r.rolname::text, 'PUBLIC'), a.privilege_type
            FROM objects o, aclexplode(o.acl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE a.grantee = 0 OR r.rolname IN ('metadata_reader', 'metadata_editor', 'metadata_admin')
            UNION ALL
            -- Column privileges, as "INSERT (name)".
            SELECT 'TABLE', c.oid::regclass::text, coalesce(r.rolname::text, 'PUBLIC'),
                   a.privilege_type || ' (' || quote_ident(att.attname) || ')'
            FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid,
                 aclexplode(att.attacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE c.relnamespace = 'metadata'::regnamespace AND att.attnum > 0
              AND NOT att.attisdropped
              AND (a.grantee = 0 OR r.rolname IN ('metadata_reader', 'metadata_editor', 'metadata_admin'))),
        wanted(kind, object, grantee, privilege) AS (
            VALUES ('SCHEMA', 'metadata', 'metadata_reader', 'USAGE'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_history', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_reference', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_package', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.stats', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_admin', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_tenant_binding', 'metadata_admin', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_tenant_binding', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_tenant_binding', 'metadata_admin', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'UPDATE'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_package', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_package', 'metadata_admin', 'UPDATE')
            UNION ALL
            SELECT 'TABLE', 'metadata.sys_metadata', 'metadata_editor', privilege || ' (' || col || ')'
            FROM unnest(ARRAY['INSERT', 'UPDATE']) AS privilege,
                 unnest(ARRAY['namespace', 'strategy', 'extends', 'metadata', 'state', 'tags',
                              'source', 'managed_by', 'package_id', 'package_version']) AS col
            UNION ALL
            SELECT 'TABLE', 'metadata.sys_metadata', 'metadata_editor', 'INSERT (' || col || ')'
            FROM unnest(ARRAY['tenant_id', 'type', 'name', 'scope', 'owner']) AS col
            UNION ALL
            SELECT 'ROUTINE', p.oid::regprocedure::text, 'metadata_reader', 'EXECUTE'
            FROM pg_proc p
            WHERE p.pronamespace = 'metadata'::regnamespace AND NOT p.prosecdef
              AND p.proname <> '_grant_privileges')
        -- Every ACL is made explicit (a REVOKE that changes nothing does it), as 0.1.0's
        -- script left them, then the differences are revoked and granted, reader first.
        SELECT * FROM (
            SELECT 'REVOKE' AS action, 'FROM' AS direction, o.kind, o.object, 'PUBLIC' AS grantee,
                   'ALL' AS privilege
            FROM objects o WHERE NOT o.explicit
            UNION ALL
            SELECT 'GRANT', 'TO', w.* FROM (TABLE wanted EXCEPT TABLE present) w
            UNION ALL
            SELECT 'REVOKE', 'FROM', p.* FROM (TABLE present EXCEPT TABLE wanted) p) AS d
        -- Revokes first: revoking a table privilege revokes its column privileges too.
        ORDER BY d.action DESC, d.kind, d.object,
                 array_position(ARRAY['PUBLIC', 'metadata_reader', 'metadata_editor',
                                      'metadata_admin'], d.grantee), d.privilege
    LOOP
        EXECUTE format('%s %s ON %s %s %s %s', g.action, g.privilege, g.kind, g.object, g.direction,
                       CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END);
    END LOOP;
END
$fn$;


-- The change feed: positions are given at the end of the committing transaction by the
-- feed step (src/pg/feed.rs) under a lock only the extension can take, the head lives in
-- sys_metadata_feed, and NOTIFY carries feed positions only; the deferred trigger, its
-- public advisory lock, the sequence and the per-change payloads go.
CREATE TABLE metadata.sys_metadata_feed (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    head           bigint NOT NULL CHECK (head >= 0),
    -- The highest seq prune_history removed: the feed is complete from pruned_through + 1.
    pruned_through bigint NOT NULL DEFAULT 0 CHECK (pruned_through >= 0)
);
COMMENT ON TABLE metadata.sys_metadata_feed IS
  'The head of the change feed (the last seq given; written by the feed step only) and '
  'the highest seq history retention removed.';
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_feed', '');
-- Positions after the highest one in the history were never committed: they may be given.
INSERT INTO metadata.sys_metadata_feed (head)
SELECT max(seq) FROM metadata.sys_metadata_history HAVING max(seq) IS NOT NULL;
DROP TRIGGER sys_metadata_history_publish ON metadata.sys_metadata_history;
DROP FUNCTION metadata.sys_metadata_history_publish();
DROP FUNCTION metadata._change_event(metadata.sys_metadata_history);
DROP FUNCTION metadata._max_notifications();
-- (Leaving the extension first takes the sequence out of its configuration tables too.)
ALTER EXTENSION metadata DROP SEQUENCE metadata.sys_metadata_change_seq;
DROP SEQUENCE metadata.sys_metadata_change_seq;
CREATE OR REPLACE FUNCTION metadata.changes_since(seq bigint, "limit" integer DEFAULT 100)
RETURNS SETOF metadata.change_event
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(changes_since.seq, 'seq');
    IF changes_since.seq < 0 THEN
        RAISE EXCEPTION 'seq must be 0 or more (0: from the beginning)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF changes_since."limit" IS NULL OR changes_since."limit" NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 10000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT h.seq, h.op, h.tenant_id, h.type, h.name, h.scope, h.owner, h.version, h.checksum,
           h.changed_at
    FROM metadata.sys_metadata_history h
    WHERE h.seq > changes_since.seq AND metadata._row_visible(h.tenant_id, h.scope, h.owner)
    ORDER BY h.seq
    LIMIT changes_since."limit";
END
$fn$;
COMMENT ON FUNCTION metadata.changes_since(bigint, integer) IS
  'The committed changes after seq (the last one a client processed; 0 for all), in feed '
  'order, at most limit (1..10000): what a client missed while disconnected. Global and the '
  'caller''s tenant''s changes, user layers of the caller only. A seq beyond the newest '
  'gives no rows. Errors: 22004, 22023 negative seq or bad limit.';

-- History retention and the feed's bounds (src/pg/retention.rs).
CREATE FUNCTION metadata."_feed_bounds"() RETURNS TABLE (
	"head" bigint,  /* i64 */
	"retained_from" bigint  /* i64 */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_feed_bounds_wrapper';
CREATE FUNCTION metadata."_prune_history"(
	"max_versions" INT, /* Option < i32 > */
	"max_age_seconds" double precision /* Option < f64 > */
) RETURNS bigint /* i64 */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_prune_history_wrapper';

CREATE FUNCTION metadata.feed_bounds() RETURNS TABLE (head bigint, retained_from bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT b.head, b.retained_from FROM metadata._feed_bounds() AS b;
END;
COMMENT ON FUNCTION metadata.feed_bounds() IS
  'The change feed''s head (the last seq given, 0 before the first change) and the lowest '
  'seq from which it is complete (retained_from: prune_history removed changes up to '
  'retained_from - 1). A client whose last processed seq is below retained_from - 1 may '
  'have missed changes and reloads instead of calling changes_since.';

CREATE FUNCTION metadata.prune_history(max_versions integer DEFAULT NULL, max_age interval DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
RETURN metadata._prune_history(max_versions, extract(epoch FROM max_age)::double precision);
COMMENT ON FUNCTION metadata.prune_history(integer, interval) IS
  'History retention (ObjectStack''s MetadataHistoryRetentionPolicy): removes, for every '
  'row of every tenant, the history rows beyond its max_versions newest and those that got '
  'their feed position (sequenced_at, at commit) more than max_age ago, but never a row''s '
  'current version nor a change not yet numbered; rows numbered before 0.2.0 have no '
  'sequenced_at and go by max_versions only. Returns how many were removed; the feed is '
  'complete from feed_bounds().retained_from on. Errors: 42501 unless metadata_admin, '
  '22023 neither limit given, max_versions below 1 or a negative max_age.';

CREATE FUNCTION metadata."_wait_for_feed"(
	"timeout_seconds" double precision /* Option < f64 > */
) RETURNS bigint /* Option < i64 > */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_wait_for_feed_wrapper';
CREATE FUNCTION metadata.wait_for_feed(timeout interval DEFAULT '5 seconds')
RETURNS bigint
LANGUAGE sql VOLATILE
RETURN metadata._wait_for_feed(extract(epoch FROM timeout)::double precision);
COMMENT ON FUNCTION metadata.wait_for_feed(interval) IS
  'Waits until every change committed before the call has its feed position, and returns '
  'the feed''s head (NULL when the timeout passed first). Plain mode numbers changes at '
  'commit: it returns at once. Preloaded mode (shared_preload_libraries) waits for the feed '
  'worker. Errors: 22023 negative timeout; 25000 in preloaded mode from a transaction that '
  'wrote metadata or runs under REPEATABLE READ or SERIALIZABLE.';

-- What this backend's caches did and where the feed stands (src/pg/stats.rs).
CREATE FUNCTION metadata."_stats"() RETURNS TABLE (
	"mode" TEXT,  /* String */
	"memo_hits" bigint,  /* i64 */
	"memo_misses" bigint,  /* i64 */
	"memo_evictions" bigint,  /* i64 */
	"memo_entries" bigint,  /* i64 */
	"memo_bytes" bigint,  /* i64 */
	"memo_budget_bytes" bigint,  /* i64 */
	"validator_hits" bigint,  /* i64 */
	"validator_compiles" bigint,  /* i64 */
	"feed_head" bigint,  /* i64 */
	"feed_retained_from" bigint,  /* i64 */
	"feed_backlog" bigint,  /* i64 */
	"last_notify_at" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"feed_worker_pid" INT,  /* Option < i32 > */
	"last_prune_at" timestamp with time zone  /* Option < TimestampWithTimeZone > */
)
STRICT VOLATILE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_stats_wrapper';
CREATE VIEW metadata.stats AS
SELECT s.mode, s.memo_hits, s.memo_misses, s.memo_evictions, s.memo_entries, s.memo_bytes,
       s.memo_budget_bytes, s.validator_hits, s.validator_compiles, s.feed_head,
       s.feed_retained_from, s.feed_backlog, s.last_notify_at, s.feed_worker_pid,
       s.last_prune_at,
       -- A hot standby's feed is the primary's as far as replayed: the commit time (on the
       -- primary) of the last transaction replayed, and how far replay is behind (zero when
       -- everything received is replayed). NULL on a primary.
       CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_xact_replay_timestamp()
       END AS feed_replayed_at,
       CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN NULL
            WHEN pg_catalog.pg_last_wal_receive_lsn() OPERATOR(pg_catalog.<=) pg_catalog.pg_last_wal_replay_lsn()
                THEN interval '0'
            ELSE pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) pg_catalog.pg_last_xact_replay_timestamp()
       END AS feed_replay_lag
FROM metadata._stats() AS s;
COMMENT ON VIEW metadata.stats IS
  'One row: mode (plain, or preloaded with shared_preload_libraries = ''metadata''); the '
  'memo of effective documents of this backend since it started (hits, misses, evictions, '
  'entries, bytes, budget in bytes: metadata.memo_size); its validator cache (hits, schema '
  'compiles); the change feed (head, the lowest seq it is complete from, the backlog: plain, '
  'the changes of this backend''s open transaction waiting for their position at its commit; '
  'preloaded, every committed change waiting for the feed worker; when the doorbell last '
  'rang: plain, by this backend; preloaded, by the worker); the feed worker''s pid (NULL '
  'when none runs) and when it last applied history retention; on a hot standby, the '
  'primary''s commit time of the last transaction replayed (feed_replayed_at) and how far '
  'replay is behind (feed_replay_lag, zero when all WAL received is replayed; NULL on a '
  'primary).';

-- History rows record when they got their feed position (sequenced_at, set by the feed
-- step): retention measures age by it (prune_history). The functions returning history
-- rows are created again for the new column (SELECT * is expanded at creation).
ALTER TABLE metadata.sys_metadata_history ADD COLUMN sequenced_at timestamptz;
CREATE OR REPLACE FUNCTION metadata._history_rows(p_type text, p_name text, p_scope text, p_owner text)
RETURNS SETOF metadata.sys_metadata_history
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT h.* FROM metadata.sys_metadata_history h
    WHERE h.tenant_id IS NULL AND h.type = p_type AND h.name = p_name
      AND (p_scope IS NULL OR h.scope = p_scope)
      AND (h.scope <> 'user' OR (metadata.current_tenant() IS NULL
                                 AND h.owner = coalesce(p_owner, metadata.current_user_id())))
    UNION ALL
    SELECT h.* FROM metadata.sys_metadata_history h
    WHERE h.tenant_id = metadata.current_tenant() AND h.type = p_type AND h.name = p_name
      AND (p_scope IS NULL OR h.scope = p_scope)
      AND (h.scope <> 'user' OR h.owner = coalesce(p_owner, metadata.current_user_id()));
END;

CREATE OR REPLACE FUNCTION metadata.history(type text, name text, scope text DEFAULT NULL,
                                 owner text DEFAULT NULL, page_size integer DEFAULT 50,
                                 before_id bigint DEFAULT NULL)
RETURNS SETOF metadata.sys_metadata_history
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(history.type, 'type');
    PERFORM metadata._require(history.name, 'name');
    IF history.scope IS NOT NULL THEN
        PERFORM metadata._require_one_of(history.scope, 'scope', ARRAY['system', 'platform', 'user']);
    END IF;
    IF history.page_size IS NULL OR history.page_size NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'page_size must be between 1 and 10000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT h.* FROM metadata._history_rows(history.type, history.name, history.scope, history.owner) AS h
    WHERE history.before_id IS NULL OR h.id < history.before_id
    ORDER BY h.id DESC
    LIMIT history.page_size;
END
$fn$;
COMMENT ON FUNCTION metadata.history(text, text, text, text, integer, bigint) IS
  'Changes of (type, name) the caller may see (global layers, its tenant''s, its own user '
  'layers; or one scope and owner), newest first, page_size at a time; pass the last id of '
  'a page as before_id for the next. Errors: 22004, 22023.';

-- History: only the feed position may be set, once; the checks no longer compare whole rows.
CREATE OR REPLACE FUNCTION metadata.sys_metadata_history_immutable() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION 'metadata.sys_metadata_history is append-only'
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

DROP TRIGGER sys_metadata_history_immutable ON metadata.sys_metadata_history;
CREATE TRIGGER sys_metadata_history_immutable
    BEFORE DELETE OR UPDATE OF id, item_id, op, tenant_id, type, name, scope, owner, state,
                               strategy, extends, version, metadata, checksum,
                               previous_checksum, changed_by, changed_at, txid, note
    ON metadata.sys_metadata_history
    FOR EACH ROW EXECUTE FUNCTION metadata.sys_metadata_history_immutable();
CREATE TRIGGER sys_metadata_history_seq_once
    BEFORE UPDATE OF seq, sequenced_at ON metadata.sys_metadata_history
    FOR EACH ROW WHEN (OLD.seq IS NOT NULL)
    EXECUTE FUNCTION metadata.sys_metadata_history_immutable();

-- search_path is pinned in every PL/pgSQL function, the internal ones too: each can be
-- called directly, and would otherwise resolve operators through the caller's search_path.
ALTER FUNCTION metadata._save_item(jsonb) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._require(anyelement, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._require_one_of(text, text, text[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._require_name(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._require_type(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._layer_key(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._lock_layer(text, text, text, text, text, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._reraise(text, text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._check_version(integer, integer, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._history_at(text, text, integer, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._require_pointers(text[], text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION metadata._require_reference_paths(jsonb) SET search_path = pg_catalog, pg_temp;

-- The write path in Rust (src/pg/write.rs): save, publish, delete, rollback and bulk_save
-- cross into Rust once; the write trigger is Rust too (src/pg/trigger.rs) and runs the same
-- checks for plain SQL writes; references are checked by the commit step.
--
-- save, publish, delete and rollback gain expected_checksum (delete also cascade),
-- register_type and register_schemas gain force, so they are created anew:
-- EXECUTE granted directly on them (not through the extension's roles) is listed here, to
-- be granted again after the update.
DO $warn$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT p.oid::regprocedure AS routine, r.rolname AS grantee
        FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
        JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
        WHERE p.pronamespace = 'metadata'::regnamespace
          AND p.proname IN ('save', 'publish', 'delete', 'rollback', 'register_type', 'register_schemas')
          AND r.rolname NOT IN ('metadata_reader', 'metadata_editor', 'metadata_admin')
          AND r.oid <> p.proowner
    LOOP
        RAISE WARNING 'metadata 0.2.0 re-creates %: grant EXECUTE to % again after the update', g.routine, g.grantee;
    END LOOP;
END
$warn$;

-- The name rules, in the library (src/core/names.rs), for the domain and the type registry.
CREATE FUNCTION metadata."_is_machine_name"(
	"name" TEXT /* & str */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_is_machine_name_wrapper';
CREATE FUNCTION metadata."_is_type_name"(
	"name" TEXT /* & str */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_is_type_name_wrapper';
ALTER DOMAIN metadata.machine_name DROP CONSTRAINT machine_name_check;
ALTER DOMAIN metadata.machine_name ADD CONSTRAINT machine_name_check CHECK (metadata._is_machine_name(VALUE));
ALTER TABLE metadata.sys_metadata_type DROP CONSTRAINT sys_metadata_type_name_check;
ALTER TABLE metadata.sys_metadata_type ADD CONSTRAINT sys_metadata_type_name_check CHECK (metadata._is_type_name(name));

-- A draft records the version of the live row it was saved over (publish checks it). 0.1.0
-- compared times: a draft saved after its live row changed gets that row's version, one
-- whose live row changed since gets none (so publishing it needs force, as before).
ALTER TABLE metadata.sys_metadata ADD COLUMN base_version integer;
SET LOCAL session_replication_role = replica;
UPDATE metadata.sys_metadata d SET base_version = l.version
FROM metadata.sys_metadata l
WHERE d.state = 'draft' AND l.state IN ('active', 'deprecated') AND l.updated_at <= d.updated_at
  AND l.type = d.type AND l.name = d.name AND l.scope = d.scope
  AND l.tenant_id IS NOT DISTINCT FROM d.tenant_id AND l.owner IS NOT DISTINCT FROM d.owner;
SET LOCAL session_replication_role = origin;

-- The write trigger, now the library's; the commit step checks references.
CREATE OR REPLACE FUNCTION metadata."sys_metadata_before_write"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'sys_metadata_before_write_wrapper';
DROP TRIGGER sys_metadata_references ON metadata.sys_metadata;
DROP FUNCTION metadata.sys_metadata_check_references();

-- 0.1.0's write helpers go (their symbols stay in the library for 0.1.0's script).
DROP FUNCTION metadata._document_checksum(text);
DROP FUNCTION metadata._below_checksum(text, text, text, text, text, text);
DROP FUNCTION metadata._check_write(text, text, text, text, text, text, boolean);
DROP FUNCTION metadata._check_references(text, text, text, text);
DROP FUNCTION metadata._lock_layer(text, text, text, text, text, boolean);
DROP FUNCTION metadata._reraise(text, text, text, text);
DROP FUNCTION metadata._check_version(integer, integer, text);
DROP FUNCTION metadata._save_item(jsonb);
DROP FUNCTION metadata._layer_key(text, text);
DROP FUNCTION metadata._describe(text, text, text, text, text);
DROP FUNCTION metadata.save(text, text, jsonb, text, text, text, integer, text, text, text, text, text[], text, text, text, text, text);
DROP FUNCTION metadata.publish(text, text, text, text, integer, boolean);
DROP FUNCTION metadata.delete(text, text, text, text, integer);
DROP FUNCTION metadata.rollback(text, text, integer, text, text, text, integer);

CREATE FUNCTION metadata."_layer_key"(
	"scope" TEXT, /* Option < & str > */
	"owner" TEXT /* Option < & str > */
) RETURNS TABLE (
	"tenant_id" TEXT,  /* Option < String > */
	"owner_id" TEXT  /* Option < String > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_layer_key_wrapper';
CREATE FUNCTION metadata."_describe"(
	"type_name" TEXT, /* & str */
	"name" TEXT, /* & str */
	"scope" TEXT, /* & str */
	"tenant" TEXT, /* Option < & str > */
	"owner" TEXT /* Option < & str > */
) RETURNS TEXT /* String */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_describe_wrapper';
CREATE FUNCTION metadata."_save"(
	"type_name" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"doc" jsonb, /* Option < JsonbBytes > */
	"scope" TEXT, /* Option < & str > */
	"owner" TEXT, /* Option < & str > */
	"strategy" TEXT, /* Option < & str > */
	"expected_version" INT, /* Option < i32 > */
	"on_conflict" TEXT, /* Option < & str > */
	"state" TEXT, /* Option < & str > */
	"extends" TEXT, /* Option < & str > */
	"namespace" TEXT, /* Option < & str > */
	"tags" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"source" TEXT, /* Option < & str > */
	"managed_by" TEXT, /* Option < & str > */
	"package_id" TEXT, /* Option < & str > */
	"package_version" TEXT, /* Option < & str > */
	"change_note" TEXT, /* Option < & str > */
	"expected_checksum" TEXT /* Option < & str > */
) RETURNS metadata.sys_metadata /* :: pgrx :: heap_tuple :: PgHeapTuple < '_, :: pgrx :: pgbox :: AllocatedByRust
> */
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_save_wrapper';
CREATE FUNCTION metadata."_publish"(
	"type_name" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"scope" TEXT, /* Option < & str > */
	"owner" TEXT, /* Option < & str > */
	"expected_version" INT, /* Option < i32 > */
	"force" bool, /* Option < bool > */
	"expected_checksum" TEXT, /* Option < & str > */
	"change_note" TEXT /* Option < & str > */
) RETURNS metadata.sys_metadata /* :: pgrx :: heap_tuple :: PgHeapTuple < '_, :: pgrx :: pgbox :: AllocatedByRust
> */
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_publish_wrapper';
CREATE FUNCTION metadata."_delete"(
	"type_name" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"scope" TEXT, /* Option < & str > */
	"owner" TEXT, /* Option < & str > */
	"expected_version" INT, /* Option < i32 > */
	"expected_checksum" TEXT, /* Option < & str > */
	"cascade" bool /* Option < bool > */
) RETURNS bool /* bool */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_delete_wrapper';
CREATE FUNCTION metadata."_rollback"(
	"type_name" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"version" INT, /* Option < i32 > */
	"note" TEXT, /* Option < & str > */
	"scope" TEXT, /* Option < & str > */
	"owner" TEXT, /* Option < & str > */
	"expected_version" INT, /* Option < i32 > */
	"expected_checksum" TEXT /* Option < & str > */
) RETURNS metadata.sys_metadata /* :: pgrx :: heap_tuple :: PgHeapTuple < '_, :: pgrx :: pgbox :: AllocatedByRust
> */
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_rollback_wrapper';
CREATE FUNCTION metadata."_bulk_save"(
	"items" jsonb, /* Option < JsonB > */
	"continue_on_error" bool /* Option < bool > */
) RETURNS jsonb /* JsonB */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_bulk_save_wrapper';

CREATE FUNCTION metadata.save(
    type text,
    name text,
    doc jsonb,
    scope text DEFAULT 'platform',
    owner text DEFAULT NULL,
    strategy text DEFAULT NULL,
    expected_version integer DEFAULT NULL,
    on_conflict text DEFAULT 'update',
    state text DEFAULT 'active',
    extends text DEFAULT NULL,
    namespace text DEFAULT NULL,
    tags text[] DEFAULT NULL,
    source text DEFAULT NULL,
    managed_by text DEFAULT NULL,
    package_id text DEFAULT NULL,
    package_version text DEFAULT NULL,
    change_note text DEFAULT NULL,
    expected_checksum text DEFAULT '*'
) RETURNS metadata.sys_metadata
LANGUAGE sql VOLATILE
RETURN metadata._save(type, name, doc, scope, owner, strategy, expected_version, on_conflict,
                      state, extends, namespace, tags, source, managed_by, package_id,
                      package_version, change_note, expected_checksum);
COMMENT ON FUNCTION metadata.save(text, text, jsonb, text, text, text, integer, text, text, text, text, text[], text, text, text, text, text, text) IS
  'Writes one layer of (type, name) for the caller''s tenant and returns the stored row. '
  'doc: a JSON object, the whole item (strategy replace, or the bottom layer) or an RFC 7396 '
  'merge patch. scope system (global), platform (the tenant''s), user (owner, default '
  'metadata.user_id). state active, draft (a pending change, see publish) or deprecated. '
  'on_conflict: update (new document; attributes not given are kept), replace (new document '
  'and attributes, defaults for those not given), skip (return the stored row), error '
  '(23505). expected_version: the version the caller read (0 = must not exist); '
  'expected_checksum: the sha256: checksum the caller read (NULL = must not exist; the '
  'default * = not checked); a mismatch raises 40001. change_note goes to the history row. '
  'Saving what is stored changes nothing. Errors: 22004 NULL, 22023 bad scope/state/'
  'strategy/on_conflict/owner or non-object doc, 42602 bad name, 42704 unregistered type, '
  '54000/54001 document over 4 MiB or 100 levels, 42P19 extends cycle, 23503 missing '
  'extends parent, 0A000 overlay or runtime item the type does not allow, 23514 locked path '
  'changed or (strict) schema not satisfied, 23505, 40001, 42501 outside the caller''s rights.';

CREATE FUNCTION metadata.delete(type text, name text, scope text DEFAULT 'platform',
                                owner text DEFAULT NULL, expected_version integer DEFAULT NULL,
                                expected_checksum text DEFAULT '*', cascade boolean DEFAULT false)
RETURNS boolean
LANGUAGE sql VOLATILE
RETURN metadata._delete(type, name, scope, owner, expected_version, expected_checksum, cascade);
COMMENT ON FUNCTION metadata.delete(text, text, text, text, integer, text, boolean) IS
  'Archives the live layer of (type, name) at scope (state archived, version + 1; the row and '
  'its history are kept; a later save revives it). Returns false when there was none. '
  'expected_version / expected_checksum as for save. When items depend on it (their '
  'effective documents name it at a reference path, for any tenant or user who then no '
  'longer sees it), raises 23503 foreign_key_violation listing them in DETAIL, unless '
  'cascade => true: then it is deleted and a NOTICE lists them (they are not deleted). '
  'Errors: 22004, 22023, 42704, 40001, 42501, 23503.';

CREATE FUNCTION metadata.publish(type text, name text, scope text DEFAULT 'platform',
                                 owner text DEFAULT NULL, expected_version integer DEFAULT NULL,
                                 force boolean DEFAULT false, expected_checksum text DEFAULT '*',
                                 change_note text DEFAULT NULL)
RETURNS metadata.sys_metadata
LANGUAGE sql VOLATILE
RETURN metadata._publish(type, name, scope, owner, expected_version, force, expected_checksum,
                         change_note);
COMMENT ON FUNCTION metadata.publish(text, text, text, text, integer, boolean, text, text) IS
  'Promotes the draft layer of (type, name) at scope to active: the live row takes the '
  'draft''s document and attributes (version + 1) and the draft row goes; without a live row '
  'the draft row becomes it. One change: one history row (op publish, change_note), one '
  'event. Returns '
  'the live row. Errors: P0002 no draft, 40001 expected_version / expected_checksum (of the '
  'draft) mismatch, or the live layer is no longer the version the draft was saved over '
  '(force => true publishes anyway), and those of the checks of save.';

CREATE OR REPLACE FUNCTION metadata.bulk_save(items jsonb, continue_on_error boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql VOLATILE
RETURN metadata._bulk_save(items, continue_on_error);
COMMENT ON FUNCTION metadata.bulk_save(jsonb, boolean) IS
  'Saves a JSON array of items {type, name, metadata, scope?, owner?, strategy?, state?, '
  'extends?, namespace?, tags?, expected_version?, expected_checksum?, on_conflict?, source?, '
  'managed_by?, package_id?, package_version?, change_note?} (the items of a bundle) and '
  'returns {total, succeeded, failed, errors[]}. Without continue_on_error it is all or '
  'nothing: the first failure raises its own SQLSTATE, the message naming the item as '
  '/index. With it, each item is saved on its own and failures are listed as {index, '
  'pointer, type, name, sqlstate, message, detail}. Errors: 22004 NULL items, 22023 not an '
  'array, an unknown item key, tags not an array of strings.';

CREATE FUNCTION metadata.rollback(type text, name text, version integer, note text DEFAULT NULL,
                                  scope text DEFAULT 'platform', owner text DEFAULT NULL,
                                  expected_version integer DEFAULT NULL,
                                  expected_checksum text DEFAULT '*')
RETURNS metadata.sys_metadata
LANGUAGE sql VOLATILE
RETURN metadata._rollback(type, name, version, note, scope, owner, expected_version,
                          expected_checksum);
COMMENT ON FUNCTION metadata.rollback(text, text, integer, text, text, text, integer, text) IS
  'Writes a new version of a layer of (type, name) equal to an old one: its document, '
  'strategy and extends (op revert, history kept; a deleted layer comes back). Nothing '
  'changes when it already equals it. Errors: P0002 no such version, 40001 '
  'expected_version / expected_checksum mismatch, and those of save.';

CREATE OR REPLACE FUNCTION metadata._require_name(value text, what text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(value, what);
    IF NOT metadata._is_machine_name(value) THEN
        RAISE EXCEPTION 'invalid % "%"', what, left(value, 200)
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Names start with a letter or "_" and contain only letters, digits, "_", "." and "-" (at most 128).';
    END IF;
    RETURN value;
END
$fn$;

CREATE OR REPLACE FUNCTION metadata._require_reference_paths(reference_paths jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF jsonb_typeof(reference_paths) IS DISTINCT FROM 'array' OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(reference_paths) AS r
        WHERE jsonb_typeof(r) <> 'object'
           OR (SELECT count(*) FROM jsonb_object_keys(r)) <> 2
           OR jsonb_typeof(r -> 'path') IS DISTINCT FROM 'string'
           OR jsonb_typeof(r -> 'type') IS DISTINCT FROM 'string'
           OR r ->> 'path' !~ '^(/[^/]*)*$'
           OR NOT metadata._is_type_name(r ->> 'type')) THEN
        RAISE EXCEPTION 'reference_paths must be a JSON array of {"path": JSON Pointer, "type": type name}'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = left(reference_paths::text, 500);
    END IF;
END
$fn$;

-- SELECT * in a function body is expanded when it is created: the new column needs it again.
CREATE OR REPLACE FUNCTION metadata._layer_rows(p_type text, p_name text, p_tenant text, p_scope text,
                                     p_owner text)
RETURNS SETOF metadata.sys_metadata
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM metadata.sys_metadata m
    WHERE p_tenant IS NULL AND p_owner IS NULL AND m.tenant_id IS NULL AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner IS NULL
    UNION ALL
    SELECT * FROM metadata.sys_metadata m
    WHERE p_tenant IS NULL AND m.tenant_id IS NULL AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner = p_owner
    UNION ALL
    SELECT * FROM metadata.sys_metadata m
    WHERE p_owner IS NULL AND m.tenant_id = p_tenant AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner IS NULL
    UNION ALL
    SELECT * FROM metadata.sys_metadata m
    WHERE m.tenant_id = p_tenant AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner = p_owner;
END;


-- Tenant binding (opt-in): roles bound to the tenants they may act for.
CREATE FUNCTION metadata."_current_tenant"() RETURNS TEXT /* Option < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_current_tenant_wrapper';
CREATE FUNCTION metadata."sys_metadata_tenant_binding_changed"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'sys_metadata_tenant_binding_changed_wrapper';
CREATE OR REPLACE FUNCTION metadata.current_tenant() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN metadata._current_tenant();
COMMENT ON FUNCTION metadata.current_tenant() IS
  'Tenant of the caller: the setting metadata.tenant_id, NULL when unset or empty (the global '
  'space). Errors: 42501 when the login or the current role is bound to other tenants '
  '(metadata.bind_tenant).';

-- The bindings, and the functions that manage them. A role with bindings (as the
-- login or the current role) may set metadata.tenant_id only to one of them (or leave it
-- unset: the global space); metadata.current_tenant() and the library's reads raise 42501
-- otherwise, so row level security follows the binding and the caller cannot switch it
-- off. Roles without bindings act for any tenant. Managed by metadata_admin.
CREATE TABLE metadata.sys_metadata_tenant_binding (
    role      regrole NOT NULL,
    tenant_id text NOT NULL CHECK (tenant_id <> '' AND length(tenant_id) <= 128),
    PRIMARY KEY (role, tenant_id)
);
COMMENT ON TABLE metadata.sys_metadata_tenant_binding IS
  'Tenant binding: a role listed here may act only for its tenants (metadata.bind_tenant).';
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_tenant_binding', '');
-- Every backend caches the bindings; a change reaches them at commit.
CREATE TRIGGER sys_metadata_tenant_binding_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metadata.sys_metadata_tenant_binding
    FOR EACH STATEMENT EXECUTE FUNCTION metadata.sys_metadata_tenant_binding_changed();

CREATE FUNCTION metadata.bind_tenant(role regrole, tenant_id text) RETURNS boolean
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH added AS (
        INSERT INTO metadata.sys_metadata_tenant_binding AS b (role, tenant_id)
        VALUES (bind_tenant.role, bind_tenant.tenant_id)
        ON CONFLICT DO NOTHING RETURNING 1)
    SELECT EXISTS (SELECT FROM added);
END;
COMMENT ON FUNCTION metadata.bind_tenant(regrole, text) IS
  'Binds role to tenant_id: from its first binding on, the role (as login or current role) '
  'may set metadata.tenant_id only to a tenant it is bound to. Returns false when the binding '
  'existed. Takes effect in every session at commit. Errors: 42501 unless metadata_admin, '
  '23514 empty tenant.';

CREATE FUNCTION metadata.unbind_tenant(role regrole, tenant_id text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH removed AS (
        DELETE FROM metadata.sys_metadata_tenant_binding AS b
        WHERE b.role = unbind_tenant.role
          AND (unbind_tenant.tenant_id IS NULL OR b.tenant_id = unbind_tenant.tenant_id)
        RETURNING 1)
    SELECT count(*)::integer FROM removed;
END;
COMMENT ON FUNCTION metadata.unbind_tenant(regrole, text) IS
  'Removes the binding of role to tenant_id (all its bindings when tenant_id is NULL: the '
  'role acts for any tenant again). Returns the number removed. Errors: 42501 unless '
  'metadata_admin.';


-- Checksums are ObjectStack's hashSpec from 0.2.0 on (RFC 8785 numbers, UTF-16 key order;
-- README, "Checksums"): every stored checksum is recomputed from its document, and an
-- overlay's base_checksum, which names a document stored nowhere, is recognised as the old
-- or new checksum of what is below it now (else it is kept: a stale overlay stays stale).
-- The two helpers exist only while this script runs (src/pg/migrate.rs). Triggers are off
-- (replica role): this rewrites what was written, it is not a change.
CREATE FUNCTION metadata._checksum_v1(doc jsonb) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_checksum_v1_wrapper';
CREATE FUNCTION metadata._below_checksums(type_name text, name text, scope text, tenant text,
                                          owner text, extends text, preview boolean)
RETURNS text[] STABLE LANGUAGE c AS 'MODULE_PATHNAME', '_below_checksums_wrapper';
CREATE FUNCTION metadata._form_sensitive(doc jsonb) RETURNS boolean
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_form_sensitive_wrapper';
SELECT pg_catalog.set_config('session_replication_role', 'replica', true);
-- Only the overlays of items with a layer whose forms can differ (or with an extends
-- parent, whose layers are below too) are resolved: for the others both forms agree.
WITH sensitive AS (
    SELECT DISTINCT s.type, s.name FROM metadata.sys_metadata AS s
    WHERE s.extends IS NOT NULL OR metadata._form_sensitive(s.metadata))
UPDATE metadata.sys_metadata AS m SET base_checksum = b.sums[1]
FROM (SELECT o.id, metadata._below_checksums(o.type, o.name, o.scope, o.tenant_id, o.owner, o.extends,
                                             o.state OPERATOR(pg_catalog.=) 'draft') AS sums
      FROM metadata.sys_metadata AS o JOIN sensitive AS x
           ON x.type OPERATOR(pg_catalog.=) o.type AND x.name OPERATOR(pg_catalog.=) o.name
      WHERE o.base_checksum IS NOT NULL) AS b
WHERE m.id OPERATOR(pg_catalog.=) b.id AND m.base_checksum OPERATOR(pg_catalog.=) ANY (b.sums)
  AND m.base_checksum OPERATOR(pg_catalog.<>) b.sums[1];
UPDATE metadata.sys_metadata SET checksum = metadata.checksum(metadata)
WHERE checksum OPERATOR(pg_catalog.<>) metadata.checksum(metadata);
WITH rehashed AS (
    SELECT DISTINCT metadata._checksum_v1(metadata) AS old, metadata.checksum(metadata) AS new
    FROM metadata.sys_metadata_history)
UPDATE metadata.sys_metadata_history AS h SET previous_checksum = r.new
FROM rehashed AS r
WHERE h.previous_checksum OPERATOR(pg_catalog.=) r.old AND r.old OPERATOR(pg_catalog.<>) r.new;
UPDATE metadata.sys_metadata_history SET checksum = metadata.checksum(metadata)
WHERE checksum OPERATOR(pg_catalog.<>) metadata.checksum(metadata);
UPDATE metadata.sys_metadata_type SET schema_checksum = metadata.checksum(schema)
WHERE schema IS NOT NULL AND schema_checksum IS DISTINCT FROM metadata.checksum(schema);
SELECT pg_catalog.set_config('session_replication_role', 'origin', true);
DROP FUNCTION metadata._checksum_v1(jsonb);
DROP FUNCTION metadata._below_checksums(text, text, text, text, text, text, boolean);
DROP FUNCTION metadata._form_sensitive(jsonb);

-- import runs the commit's reference checks early, to report them (src/pg/feed.rs).
CREATE FUNCTION metadata."_check_references_now"() RETURNS void
STRICT VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', '_check_references_now_wrapper';

-- Dependencies (DESIGN §4 "Catalog"): the edges the write path keeps from the types'
-- reference paths (sql/schema.sql, src/pg/dependencies.rs), built here for the rows
-- stored so far, and revalidation (src/pg/revalidate.rs).
CREATE TABLE metadata.sys_metadata_reference (
    item_id     uuid NOT NULL,
    tenant_id   text,
    type        text NOT NULL,
    name        text NOT NULL,
    scope       text NOT NULL,
    owner       text,
    -- The JSON Pointer (RFC 6901) of the reference in the row's document.
    path        text NOT NULL,
    target_type text NOT NULL,
    target_name text NOT NULL,
    PRIMARY KEY (item_id, path, target_type)
);
COMMENT ON TABLE metadata.sys_metadata_reference IS
  'Dependency edges: the items each live layer row names at its type''s reference paths '
  '(kept by the extension; see metadata.dependencies and metadata.dependents).';
CREATE INDEX sys_metadata_reference_target ON metadata.sys_metadata_reference (target_type, target_name);
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_reference', '');
ALTER TABLE metadata.sys_metadata_reference ENABLE ROW LEVEL SECURITY;
ALTER TABLE metadata.sys_metadata_reference FORCE ROW LEVEL SECURITY;
CREATE POLICY sys_metadata_reference_read ON metadata.sys_metadata_reference FOR SELECT
    USING (metadata._row_visible(tenant_id, scope, owner));

CREATE FUNCTION metadata."_references"(
	"doc" jsonb, /* Option < JsonB > */
	"reference_paths" jsonb /* Option < JsonB > */
) RETURNS TABLE (
	"path" TEXT,  /* String */
	"target_type" TEXT,  /* String */
	"target_name" TEXT  /* String */
)
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_references_wrapper';
CREATE FUNCTION metadata."_rebuild_references"(
	"type_name" TEXT /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_rebuild_references_wrapper';
CREATE FUNCTION metadata."_dependencies"(
	"type_name" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"depth" INT /* Option < i32 > */
) RETURNS TABLE (
	"depth" INT,  /* i32 */
	"type" TEXT,  /* String */
	"name" TEXT,  /* String */
	"referrer_type" TEXT,  /* String */
	"referrer_name" TEXT,  /* String */
	"path" TEXT,  /* String */
	"found" bool  /* bool */
)
STABLE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_dependencies_wrapper';
CREATE FUNCTION metadata."_dependents"(
	"type_name" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"depth" INT /* Option < i32 > */
) RETURNS TABLE (
	"depth" INT,  /* i32 */
	"type" TEXT,  /* String */
	"name" TEXT,  /* String */
	"path" TEXT,  /* String */
	"target_type" TEXT,  /* String */
	"target_name" TEXT  /* String */
)
STABLE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_dependents_wrapper';
CREATE FUNCTION metadata."_import_order"(
	"items" jsonb /* Option < JsonB > */
) RETURNS INT[] /* Vec < i32 > */
STABLE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_import_order_wrapper';
CREATE FUNCTION metadata."_revalidate"(
	"type_name" TEXT, /* Option < & str > */
	"everywhere" bool /* Option < bool > */
) RETURNS TABLE (
	"tenant_id" TEXT,  /* Option < String > */
	"owner" TEXT,  /* Option < String > */
	"name" TEXT,  /* String */
	"errors" jsonb  /* JsonB */
)
VOLATILE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_revalidate_wrapper';
CREATE FUNCTION metadata."_check_registration"(
	"type_name" TEXT, /* Option < & str > */
	"force" bool /* Option < bool > */
) RETURNS INT /* i32 */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_check_registration_wrapper';

-- The type trigger that rebuilds edges when reference paths change (sql/types.sql).
CREATE FUNCTION metadata.sys_metadata_type_after_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF OLD.name <> NEW.name THEN
        PERFORM metadata._rebuild_references(OLD.name);
    END IF;
    PERFORM metadata._rebuild_references(NEW.name);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER sys_metadata_type_after_update
    AFTER UPDATE ON metadata.sys_metadata_type
    FOR EACH ROW
    WHEN (OLD.reference_paths IS DISTINCT FROM NEW.reference_paths OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION metadata.sys_metadata_type_after_update();

SELECT metadata._rebuild_references(NULL);

-- register_type and register_schemas take force (revalidation, sql/types.sql).
DROP FUNCTION metadata.register_type(text, text, jsonb, text, text[], jsonb, boolean, boolean, boolean, boolean, integer, text);
DROP FUNCTION metadata.register_schemas(jsonb, text, text);
CREATE FUNCTION metadata.register_type(
    name text,
    domain text DEFAULT NULL,
    schema jsonb DEFAULT NULL,
    validation_mode text DEFAULT NULL,
    locked_paths text[] DEFAULT NULL,
    reference_paths jsonb DEFAULT NULL,
    check_references boolean DEFAULT NULL,
    supports_overlay boolean DEFAULT NULL,
    allow_runtime_create boolean DEFAULT NULL,
    supports_versioning boolean DEFAULT NULL,
    load_order integer DEFAULT NULL,
    description text DEFAULT NULL,
    force boolean DEFAULT false
) RETURNS metadata.sys_metadata_type
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    cur metadata.sys_metadata_type;
    result metadata.sys_metadata_type;
BEGIN
    PERFORM metadata._require(register_type.name, 'name');
    IF NOT metadata._is_type_name(register_type.name) THEN
        RAISE EXCEPTION 'invalid type name "%"', left(register_type.name, 200)
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Type names are lower case: a letter, then letters, digits and "_" (at most 63).';
    END IF;
    SELECT * INTO cur FROM metadata.sys_metadata_type t WHERE t.name = register_type.name FOR UPDATE;
    IF cur.name IS NULL AND register_type.domain IS NULL THEN
        RAISE EXCEPTION 'a new type needs a domain' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass domain => ''data'', ''ui'', ''automation'', ''system'', ''security'' or ''ai''.';
    END IF;
    IF register_type.domain IS NOT NULL THEN
        PERFORM metadata._require_one_of(register_type.domain, 'domain',
            ARRAY['data', 'ui', 'automation', 'system', 'security', 'ai']);
    END IF;
    IF register_type.validation_mode IS NOT NULL THEN
        PERFORM metadata._require_one_of(register_type.validation_mode, 'validation_mode',
            ARRAY['strict', 'lenient', 'off']);
    END IF;
    IF register_type.locked_paths IS NOT NULL THEN
        PERFORM metadata._require_pointers(register_type.locked_paths, 'locked_paths');
    END IF;
    IF register_type.reference_paths IS NOT NULL THEN
        PERFORM metadata._require_reference_paths(register_type.reference_paths);
    END IF;
    IF register_type.schema IS NOT NULL THEN
        PERFORM metadata._check_schema(register_type.name, register_type.schema::text);
    END IF;
    INSERT INTO metadata.sys_metadata_type AS t
        (name, domain, description, schema, validation_mode, locked_paths, reference_paths,
         check_references, supports_overlay, allow_runtime_create, supports_versioning,
         load_order)
    VALUES (register_type.name,
            coalesce(register_type.domain, cur.domain),
            coalesce(register_type.description, cur.description),
            coalesce(register_type.schema, cur.schema),
            coalesce(register_type.validation_mode, cur.validation_mode, 'strict'),
            coalesce(register_type.locked_paths, cur.locked_paths, '{}'),
            coalesce(register_type.reference_paths, cur.reference_paths, '[]'),
            coalesce(register_type.check_references, cur.check_references, true),
            coalesce(register_type.supports_overlay, cur.supports_overlay, true),
            coalesce(register_type.allow_runtime_create, cur.allow_runtime_create, true),
            coalesce(register_type.supports_versioning, cur.supports_versioning, true),
            coalesce(register_type.load_order, cur.load_order, 100));
    SELECT * INTO result FROM metadata.sys_metadata_type t WHERE t.name = register_type.name;
    -- A new schema or mode for stored documents: revalidate them (every tenant's; not for
    -- mode off); a strict type refuses a change that they fail, unless force.
    IF cur.name IS NOT NULL
       AND (result.schema_checksum IS DISTINCT FROM cur.schema_checksum
            OR result.validation_mode IS DISTINCT FROM cur.validation_mode) THEN
        PERFORM metadata._check_registration(result.name, register_type.force);
    END IF;
    RETURN result;
END
$fn$;
COMMENT ON FUNCTION metadata.register_type(text, text, jsonb, text, text[], jsonb, boolean, boolean, boolean, boolean, integer, text, boolean) IS
  'Creates a type or changes an existing one; arguments left NULL keep their value (defaults '
  'for a new type: strict, no locked paths, no reference paths, overlays and runtime items '
  'allowed, load_order 100). schema: a JSON Schema (any draft; $ref only to '
  'urn:metadata:schema:<type> or the $id of a registered schema; true accepts everything). '
  'locked_paths: JSON Pointers overlays may not change. reference_paths: [{"path", "type"}] '
  'with * for every member; check_references: strict writes must name existing items there, '
  'checked at commit (default on; off for the built-in types). Takes effect for the next '
  'write in every session. A changed schema or mode revalidates the stored effective '
  'documents of every tenant (metadata.revalidate): when some fail, a strict type refuses '
  'the change (23514, the documents in DETAIL) unless force => true, otherwise a NOTICE '
  'says how many and which. Errors: 22004, 22023 (bad domain, mode, pointers, or an '
  'invalid or remote-referencing schema, with the reason), 42602 bad name, 23514.';

CREATE FUNCTION metadata.register_schemas(schemas jsonb, validation_mode text DEFAULT NULL,
                                          domain text DEFAULT NULL, force boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    entry record;
    n integer := 0;
    changed text[] := '{}';
BEGIN
    PERFORM metadata._require(schemas, 'schemas');
    IF jsonb_typeof(schemas) <> 'object' THEN
        RAISE EXCEPTION 'schemas must be a JSON object {type: JSON Schema}, not %', jsonb_typeof(schemas)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Store every schema first, then check each: schemas of one set may refer to each other.
    FOR entry IN SELECT key, value FROM jsonb_each(schemas) ORDER BY key LOOP
        IF NOT EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = entry.key)
           AND register_schemas.domain IS NULL THEN
            RAISE EXCEPTION 'type "%" is not registered', left(entry.key, 200)
                USING ERRCODE = 'undefined_object',
                      HINT = 'Pass domain => ... to register the new types of the set.';
        END IF;
        IF register_schemas.validation_mode IS NOT NULL THEN
            PERFORM metadata._require_one_of(register_schemas.validation_mode, 'validation_mode',
                ARRAY['strict', 'lenient', 'off']);
        END IF;
        PERFORM metadata.register_type(entry.key, domain => register_schemas.domain);
        UPDATE metadata.sys_metadata_type t
        SET schema = entry.value, validation_mode = coalesce(register_schemas.validation_mode, t.validation_mode)
        WHERE t.name = entry.key
          AND (t.schema, t.validation_mode) IS DISTINCT FROM
              (entry.value, coalesce(register_schemas.validation_mode, t.validation_mode));
        IF FOUND THEN
            changed := changed || entry.key;
        END IF;
        n := n + 1;
    END LOOP;
    FOR entry IN SELECT key, value FROM jsonb_each(schemas) ORDER BY key LOOP
        PERFORM metadata._check_schema(entry.key, entry.value::text);
    END LOOP;
    -- Then the stored documents of each changed type, against the whole new set.
    PERFORM metadata._check_registration(t, register_schemas.force) FROM unnest(changed) AS t;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION metadata.register_schemas(jsonb, text, text, boolean) IS
  'Installs a set of JSON Schemas {type: schema} (such as ObjectStack''s published schemas) '
  'all or nothing: each schema replaces its type''s schema (validation_mode too, when given); '
  'types not yet registered are created with domain (required then). Schemas of the set may '
  '$ref each other by $id. Stored documents of each changed type are revalidated as by '
  'register_type (strict: refused unless force => true). Returns the number of schemas. '
  'Errors: 22004, 22023 invalid schema, 42704 unknown type without domain, 23514.';

-- Packages (DESIGN §4 "Packages"): upgrade_package's history op, and the library's part
-- (src/pg/packages.rs); the registry and the SQL functions follow (sql/packages.sql).
ALTER TABLE metadata.sys_metadata_history DROP CONSTRAINT sys_metadata_history_op_check;
ALTER TABLE metadata.sys_metadata_history ADD CONSTRAINT sys_metadata_history_op_check
    CHECK (op IN ('create', 'update', 'publish', 'revert', 'delete', 'upgrade'));
CREATE FUNCTION metadata."_upgrade_package"(
	"package_id" TEXT, /* Option < & str > */
	"from_version" TEXT, /* Option < & str > */
	"bundle" jsonb, /* Option < JsonB > */
	"strategy" TEXT, /* Option < & str > */
	"resolutions" jsonb /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_upgrade_package_wrapper';
CREATE FUNCTION metadata."_archive_overlays"(
	"package_id" TEXT /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_archive_overlays_wrapper';

-- The catalog (sql/catalog.sql, DESIGN §4): query and export of what the caller may see.

-- The filters of export: a JSON object with the optional members types, namespaces,
-- scopes, states, tags (arrays of strings; tags: rows with any of them) and package_id
-- (a string). Raises 22023 for another member or a member of another shape.
CREATE FUNCTION metadata._catalog_filters(filters jsonb)
RETURNS TABLE (types text[], namespaces text[], scopes text[], states text[], tags text[],
               package_id text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
    v jsonb;
BEGIN
    IF filters IS NULL THEN
        filters := '{}';
    END IF;
    IF jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION 'filters must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(filters) LOOP
        IF k = 'package_id' THEN
            IF jsonb_typeof(v) <> 'string' THEN
                RAISE EXCEPTION 'filter package_id must be a string'
                    USING ERRCODE = 'invalid_parameter_value', DETAIL = format('pointer: /%s', k);
            END IF;
        ELSIF k IN ('types', 'namespaces', 'scopes', 'states', 'tags') THEN
            IF jsonb_typeof(v) <> 'array'
               OR EXISTS (SELECT FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string') THEN
                RAISE EXCEPTION 'filter % must be an array of strings', k
                    USING ERRCODE = 'invalid_parameter_value', DETAIL = format('pointer: /%s', k);
            END IF;
        ELSE
            RAISE EXCEPTION 'unknown filter %', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Filters: types, namespaces, scopes, states, tags, package_id.';
        END IF;
    END LOOP;
    RETURN QUERY SELECT
        (SELECT array_agg(e) FROM jsonb_array_elements_text(filters -> 'types') e),
        (SELECT array_agg(e) FROM jsonb_array_elements_text(filters -> 'namespaces') e),
        (SELECT array_agg(e) FROM jsonb_array_elements_text(filters -> 'scopes') e),
        coalesce((SELECT array_agg(e) FROM jsonb_array_elements_text(filters -> 'states') e),
                 ARRAY['active', 'deprecated', 'draft']),
        (SELECT array_agg(e) FROM jsonb_array_elements_text(filters -> 'tags') e),
        filters ->> 'package_id';
END
$fn$;

CREATE FUNCTION metadata.export(filters jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    f record;
BEGIN
    SELECT * INTO f FROM metadata._catalog_filters(export.filters);
    RETURN jsonb_build_object(
        'format', 'objectstack-metadata-bundle',
        'items', coalesce((
            SELECT jsonb_agg(
                       -- Members that are NULL or at their default are left out.
                       (SELECT jsonb_object_agg(k, v) FROM jsonb_each(jsonb_build_object(
                            'type', m.type, 'name', m.name, 'scope', m.scope,
                            'tenant_id', m.tenant_id, 'owner', m.owner,
                            'strategy', nullif(m.strategy, 'merge'), 'extends', m.extends,
                            'state', nullif(m.state, 'active'),
                            'namespace', nullif(m.namespace::text, 'default'),
                            'tags', CASE WHEN m.tags <> '{}' THEN to_jsonb(m.tags) END,
                            'package_id', m.package_id, 'package_version', m.package_version,
                            'checksum', m.checksum, 'metadata', m.metadata)) AS x(k, v)
                        WHERE v <> 'null')
                       ORDER BY m.type, m.name, array_position(ARRAY['system', 'platform', 'user'], m.scope),
                                m.tenant_id NULLS FIRST, m.owner NULLS FIRST, m.state)
            FROM metadata.sys_metadata m
            WHERE m.state = ANY (f.states)
              AND (f.types IS NULL OR m.type = ANY (f.types))
              AND (f.namespaces IS NULL OR m.namespace::text = ANY (f.namespaces))
              AND (f.scopes IS NULL OR m.scope = ANY (f.scopes))
              AND (f.tags IS NULL OR m.tags && f.tags)
              AND (f.package_id IS NULL OR m.package_id = f.package_id)), '[]'));
END
$fn$;
COMMENT ON FUNCTION metadata.export(jsonb) IS
  'The layers the caller may see as a bundle {format, items} (the corpus bundle format): '
  'each item {type, name, metadata} with its layer identity (scope, tenant_id, owner, '
  'strategy, extends, state, namespace, tags, package_id, package_version; members at their '
  'default left out) and checksum, sorted by type, name, scope (system, platform, user), '
  'tenant, owner, state. The same rows always give the same jsonb, and so the same text '
  '(jsonb_pretty puts one member per line: a one-field change is a one-line diff). filters: '
  '{types, namespaces, scopes, states (default active, deprecated, draft), tags (any of), '
  'package_id}. Errors: 22023 unknown filter or a filter of another shape.';

-- The words of a layer that query(search => ...) matches: its name (split at '_', '.' and
-- '-' by the parser) and its document's label, lower-cased, with the 'simple' configuration
-- (no stemming, no stop words: names and labels are not prose, and labels come in many
-- languages). Indexed by sys_metadata_search.
CREATE FUNCTION metadata._search_vector(name text, doc jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.to_tsvector('pg_catalog.simple'::regconfig,
           pg_catalog.translate(name, '_.-', '   ') OPERATOR(pg_catalog.||) ' '
           OPERATOR(pg_catalog.||) coalesce(doc OPERATOR(pg_catalog.->>) 'label', ''));

CREATE INDEX sys_metadata_type_namespace ON metadata.sys_metadata (type, namespace, name);
CREATE INDEX sys_metadata_tags ON metadata.sys_metadata USING gin (tags);
CREATE INDEX sys_metadata_search ON metadata.sys_metadata
    USING gin (metadata._search_vector(name, metadata));

-- A row of query(): a layer (or with effective, an item: the layer columns NULL), its
-- label, newest change, document (the layer's, or the effective one), the number of all
-- matches, and the page after this one (NULL on the last page).
CREATE TYPE metadata.catalog_item AS (
    type text, name text, scope text, tenant_id text, owner text, state text,
    namespace text, tags text[], version integer, checksum text, label text,
    updated_at timestamptz, doc jsonb, total bigint, next_page text);

CREATE FUNCTION metadata.query(
    types text[] DEFAULT NULL,
    namespaces text[] DEFAULT NULL,
    scopes text[] DEFAULT NULL,
    states text[] DEFAULT '{active,deprecated}',
    tags text[] DEFAULT NULL,
    search text DEFAULT NULL,
    sort text DEFAULT 'name',
    page text DEFAULT NULL,
    page_size integer DEFAULT 50,
    effective boolean DEFAULT false)
RETURNS SETOF metadata.catalog_item
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    words tsquery;
    after text[];
BEGIN
    PERFORM metadata._require_one_of(query.sort, 'sort', ARRAY['name', '-updated_at']);
    IF query.page_size IS NULL OR query.page_size NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'page_size must be between 1 and 10000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF query.page IS NOT NULL THEN
        BEGIN
            after := ARRAY(SELECT jsonb_array_elements_text(query.page::jsonb));
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'page is not a next_page of query' USING ERRCODE = 'invalid_parameter_value';
        END;
    END IF;
    -- Every word of search as a prefix: plainto_tsquery quotes the words ('a' & 'b'), and
    -- each quoted word gets :*.
    IF coalesce(btrim(query.search), '') <> '' THEN
        words := regexp_replace(plainto_tsquery('simple', query.search)::text, '''( |$)', ''':*\1', 'g')::tsquery;
    END IF;
    RETURN QUERY
    WITH matches AS (
        SELECT m.*, m.metadata ->> 'label' AS m_label
        FROM metadata.sys_metadata m
        WHERE m.state = ANY (coalesce(query.states, ARRAY['active', 'deprecated']))
          AND (query.types IS NULL OR m.type = ANY (query.types))
          AND (query.namespaces IS NULL OR m.namespace::text = ANY (query.namespaces))
          AND (query.scopes IS NULL OR m.scope = ANY (query.scopes))
          AND (query.tags IS NULL OR m.tags && query.tags)
          AND (words IS NULL OR metadata._search_vector(m.name, m.metadata) @@ words)),
    found AS (
        -- One row per layer, or with effective one per item (its newest change).
        SELECT x.type, x.name::text, x.scope, x.tenant_id, x.owner, x.state, x.namespace::text,
               x.tags, x.version, x.checksum, x.m_label, x.updated_at, x.metadata
        FROM matches x WHERE NOT query.effective
        UNION ALL
        SELECT i.type, i.name::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               max(i.updated_at), NULL
        FROM matches i WHERE query.effective GROUP BY i.type, i.name),
    keyed AS (
        SELECT f.*, CASE query.sort
                   WHEN 'name' THEN ARRAY[f.type, f.name,
                                          array_position(ARRAY['system', 'platform', 'user'], f.scope)::text,
                                          coalesce(f.tenant_id, ''), coalesce(f.owner, ''), coalesce(f.state, '')]
                   -- Newest first: a text key that grows as updated_at shrinks.
                   ELSE ARRAY[lpad((9000000000000000 - (extract(epoch FROM f.updated_at) * 1000000)::bigint)::text, 20, '0'),
                              f.type, f.name, coalesce(f.scope, ''), coalesce(f.tenant_id, ''),
                              coalesce(f.owner, ''), coalesce(f.state, '')]
               END AS k
        FROM found f),
    paged AS (
        SELECT * FROM keyed WHERE after IS NULL OR keyed.k > after
        ORDER BY keyed.k LIMIT query.page_size + 1),
    numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY p.k) AS n, count(*) OVER () AS on_page FROM paged p)
    SELECT nb.type, nb.name, nb.scope, nb.tenant_id, nb.owner, nb.state, nb.namespace, nb.tags,
           nb.version, nb.checksum,
           CASE WHEN query.effective THEN e.doc ->> 'label' ELSE nb.m_label END,
           nb.updated_at, CASE WHEN query.effective THEN e.doc ELSE nb.metadata END,
           (SELECT count(*) FROM found),
           CASE WHEN nb.on_page > query.page_size
                THEN (SELECT to_jsonb(l.k)::text FROM numbered l WHERE l.n = query.page_size) END
    FROM numbered nb
    LEFT JOIN LATERAL (SELECT metadata.effective(nb.type, nb.name) AS doc WHERE query.effective) e ON true
    WHERE nb.n <= query.page_size
    ORDER BY nb.k;
END
$fn$;
COMMENT ON FUNCTION metadata.query(text[], text[], text[], text[], text[], text, text, text, integer, boolean) IS
  'Finds what the caller may see: the layers (or with effective => true, one row per item with '
  'its effective document in doc and its label) of the given types, namespaces, scopes, '
  'states (default active, deprecated) and tags (any of), whose name or label has every word '
  'of search as a prefix (full-text search, simple configuration). sort: name (type, name, '
  'scope, tenant, owner, state) or -updated_at (newest first). page_size rows at a time: '
  'pass a row''s next_page (set on every row of a page that has a next one) as page for the '
  'next; total counts every match. Errors: 22023 bad sort, page_size or page.';

-- Raised by import to undo what it wrote (a dry run, or a failure without
-- continue_on_error) and caught by it: never seen by a caller.
-- SQLSTATE MDROL (class MD: this extension's own).

CREATE FUNCTION metadata.import(bundle jsonb, mode text DEFAULT 'overwrite',
                                dry_run boolean DEFAULT false, prune boolean DEFAULT false,
                                continue_on_error boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    allowed constant text[] := ARRAY['type', 'name', 'metadata', 'scope', 'tenant_id', 'owner',
        'strategy', 'extends', 'state', 'namespace', 'tags', 'package_id', 'package_version',
        'managed_by', 'checksum', 'expected_checksum', 'change_note'];
    caller_tenant text := current_setting('metadata.tenant_id', true);
    items jsonb;
    item jsonb;
    i integer;
    total integer;
    done integer := 0;
    -- The report's entries (an array: appending to it is not a copy of the whole).
    report jsonb[] := '{}';
    entry jsonb;
    failures integer := 0;
    stored metadata.sys_metadata;
    doc jsonb;
    written metadata.sys_metadata;
    item_scope text;
    item_state text;
    unknown text;
    st text;
    msg text;
    det text;
    pruned record;
    -- Per item (index + 1): the version of the stored layer that already is what the item
    -- would write, else NULL.
    current_version integer[];
BEGIN
    PERFORM metadata._require(import.bundle, 'bundle');
    PERFORM metadata._require_one_of(import.mode, 'mode', ARRAY['skip', 'overwrite', 'merge']);
    items := import.bundle -> 'items';
    IF jsonb_typeof(import.bundle) <> 'object' OR jsonb_typeof(items) <> 'array' THEN
        RAISE EXCEPTION 'bundle must be a JSON object with an array "items"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    total := jsonb_array_length(items);
    -- What is stored already, for all items in one statement (no resolution, no
    -- subtransaction): same document (for merge: after the patch), attributes and state.
    IF import.mode <> 'skip' THEN
        current_version := ARRAY(
            SELECT CASE WHEN jsonb_typeof(e.item) = 'object'
                         AND coalesce(jsonb_typeof(e.item -> 'tags'), 'array') = 'array'
                         AND NOT EXISTS (SELECT FROM jsonb_object_keys(e.item) x WHERE x <> ALL (allowed))
                   THEN (SELECT m.version
                         FROM metadata._layer_rows(e.item ->> 'type', e.item ->> 'name', k.tenant, k.scope, k.owner) m
                         WHERE CASE WHEN e.item ->> 'state' = 'draft' THEN m.state = 'draft'
                                    ELSE m.state = coalesce(e.item ->> 'state', 'active') END
                           AND m.checksum = metadata.checksum(CASE WHEN import.mode = 'merge'
                                   THEN metadata.merge_patch(m.metadata, e.item -> 'metadata') ELSE e.item -> 'metadata' END)
                           AND m.strategy = coalesce(e.item ->> 'strategy', 'merge')
                           AND m.extends IS NOT DISTINCT FROM e.item ->> 'extends'
                           AND m.namespace::text = coalesce(e.item ->> 'namespace', 'default')
                           AND m.tags = coalesce(ARRAY(SELECT jsonb_array_elements_text(e.item -> 'tags')), '{}')
                           AND m.package_id IS NOT DISTINCT FROM e.item ->> 'package_id'
                           AND m.package_version IS NOT DISTINCT FROM e.item ->> 'package_version'
                           AND (NOT e.item ? 'managed_by' OR m.managed_by = e.item ->> 'managed_by')
                           AND (NOT e.item ? 'expected_checksum' OR m.checksum = e.item ->> 'expected_checksum')) END
            FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, n),
                 LATERAL (SELECT coalesce(e.item ->> 'scope', 'platform') AS scope) AS sc,
                 LATERAL (SELECT sc.scope,
                                 CASE WHEN sc.scope = 'system' THEN NULL
                                      ELSE coalesce(e.item ->> 'tenant_id', nullif(caller_tenant, '')) END AS tenant,
                                 CASE WHEN sc.scope = 'user'
                                      THEN coalesce(e.item ->> 'owner', nullif(current_setting('metadata.user_id', true), '')) END AS owner) AS k
            ORDER BY e.n);
    END IF;
    BEGIN
        -- Dependencies first (metadata._import_order): an item after the items of the
        -- bundle it names at its type's reference paths and after its extends parent (a
        -- save needs its parent), bundle order among equals.
        FOR i IN SELECT o.n FROM unnest(metadata._import_order(items)) WITH ORDINALITY AS o(n, k) ORDER BY o.k
        LOOP
            item := items -> i;
            done := done + 1;
            IF done % 500 = 0 THEN
                RAISE NOTICE 'import: % of % items', done, total;
            END IF;
            entry := jsonb_build_object('index', i, 'pointer', '/items/' || i,
                                        'type', item ->> 'type', 'name', item ->> 'name');
            IF current_version[i + 1] IS NOT NULL THEN
                report := report || (entry || jsonb_build_object(
                    'scope', coalesce(item ->> 'scope', 'platform'), 'tenant_id', item -> 'tenant_id',
                    'owner', item -> 'owner', 'status', 'unchanged', 'version', current_version[i + 1]));
                CONTINUE;
            END IF;
            BEGIN
                IF jsonb_typeof(item) <> 'object' THEN
                    RAISE EXCEPTION 'an item must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
                END IF;
                SELECT k INTO unknown FROM jsonb_object_keys(item) k WHERE k <> ALL (allowed) LIMIT 1;
                IF unknown IS NOT NULL THEN
                    RAISE EXCEPTION 'unknown item member %', unknown USING ERRCODE = 'invalid_parameter_value',
                        HINT = 'Members: ' || array_to_string(allowed, ', ') || '.';
                END IF;
                item_scope := coalesce(item ->> 'scope', 'platform');
                item_state := CASE WHEN item ->> 'state' = 'draft' THEN 'draft' ELSE 'active' END;
                entry := entry || jsonb_build_object('scope', item_scope, 'tenant_id', item -> 'tenant_id',
                                                     'owner', item -> 'owner');
                -- The item's tenant (row level security and tenant binding decide whether the
                -- caller may act for it), else the caller's.
                PERFORM set_config('metadata.tenant_id', coalesce(item ->> 'tenant_id', caller_tenant, ''), true);
                stored := metadata.get(item ->> 'type', item ->> 'name', item_scope, item ->> 'owner', item_state);
                IF item ? 'expected_checksum'
                   AND stored.checksum IS DISTINCT FROM item ->> 'expected_checksum' THEN
                    RAISE EXCEPTION 'expected checksum %, the layer has %', item ->> 'expected_checksum',
                        coalesce(stored.checksum, 'none') USING ERRCODE = 'serialization_failure';
                END IF;
                doc := CASE WHEN import.mode = 'merge' AND stored.id IS NOT NULL
                            THEN metadata.merge_patch(stored.metadata, item -> 'metadata')
                            ELSE item -> 'metadata' END;
                IF stored.id IS NOT NULL AND import.mode = 'skip' THEN
                    entry := entry || '{"status": "skipped"}';
                ELSE
                    -- (What is stored already was recognised above; save writes nothing
                    -- for what is stored, and the version then says unchanged.)
                    written := metadata.save(item ->> 'type', item ->> 'name', doc, scope => item_scope,
                        owner => item ->> 'owner', strategy => coalesce(item ->> 'strategy', 'merge'),
                        state => coalesce(item ->> 'state', 'active'), extends => item ->> 'extends',
                        namespace => coalesce(item ->> 'namespace', 'default'),
                        tags => coalesce(ARRAY(SELECT jsonb_array_elements_text(item -> 'tags')), '{}'),
                        package_id => item ->> 'package_id', package_version => item ->> 'package_version',
                        managed_by => item ->> 'managed_by',
                        change_note => coalesce(item ->> 'change_note', 'import'));
                    entry := entry || CASE
                        WHEN stored.id IS NULL THEN jsonb_build_object('status', 'created', 'version', written.version)
                        WHEN written.version = stored.version THEN jsonb_build_object('status', 'unchanged', 'version', written.version)
                        ELSE jsonb_build_object('status', 'updated', 'version', written.version,
                                                'diff', metadata.diff(stored.metadata, written.metadata)) END;
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
                failures := failures + 1;
                entry := entry || jsonb_build_object(
                    'status', CASE WHEN st = '40001' THEN 'conflict' ELSE 'invalid' END,
                    'sqlstate', st, 'message', msg, 'detail', nullif(det, ''));
            END;
            report := report || entry;
        END LOOP;
        PERFORM set_config('metadata.tenant_id', coalesce(caller_tenant, ''), true);

        -- prune: the live layers of the bundle's types, scopes and tenants (those the caller
        -- sees) that the bundle does not name are archived, dependents first (by their
        -- depth among the pruned items' dependency edges), so that pruning an object with
        -- its views is not refused while a view that stays still names it.
        IF import.prune THEN
            FOR pruned IN
                WITH RECURSIVE named AS MATERIALIZED (
                    SELECT b ->> 'type' AS type, b ->> 'name' AS name, coalesce(b ->> 'scope', 'platform') AS scope,
                           b ->> 'owner' AS owner, coalesce(b ->> 'tenant_id', nullif(caller_tenant, '')) AS tenant_id
                    FROM jsonb_array_elements(items) AS b),
                covered AS (SELECT DISTINCT named.type, named.scope, named.tenant_id FROM named),
                gone AS MATERIALIZED (
                    SELECT m.id, m.type, m.name::text AS name, m.scope, m.tenant_id, m.owner
                    FROM metadata.sys_metadata m
                    JOIN covered c ON c.type = m.type AND c.scope = m.scope
                                   AND c.tenant_id IS NOT DISTINCT FROM m.tenant_id
                    WHERE m.state IN ('active', 'deprecated')
                      AND NOT EXISTS (SELECT FROM named b
                                      WHERE b.type = m.type AND b.name = m.name::text AND b.scope = m.scope
                                        AND b.owner IS NOT DISTINCT FROM m.owner
                                        AND b.tenant_id IS NOT DISTINCT FROM m.tenant_id)),
                -- How far each pruned layer is from a pruned item it names (0: names none).
                chain(id, d) AS (
                    SELECT g.id, 0 FROM gone g
                    UNION ALL
                    SELECT r.item_id, chain.d + 1
                    FROM chain JOIN gone t ON t.id = chain.id
                    JOIN metadata.sys_metadata_reference r
                      ON r.target_type = t.type AND r.target_name = t.name
                    JOIN gone g ON g.id = r.item_id
                    WHERE chain.d < 32)
                SELECT g.type, g.name, g.scope, g.tenant_id, g.owner
                FROM gone g JOIN (SELECT chain.id, max(chain.d) AS d FROM chain GROUP BY chain.id) c ON c.id = g.id
                ORDER BY c.d DESC, g.type, g.name, g.scope, g.tenant_id, g.owner
            LOOP
                entry := jsonb_build_object('type', pruned.type, 'name', pruned.name, 'scope', pruned.scope,
                                            'tenant_id', pruned.tenant_id, 'owner', pruned.owner);
                BEGIN
                    PERFORM set_config('metadata.tenant_id', coalesce(pruned.tenant_id, caller_tenant, ''), true);
                    PERFORM metadata.delete(pruned.type, pruned.name, pruned.scope, pruned.owner);
                    entry := entry || '{"status": "deleted"}';
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
                    failures := failures + 1;
                    entry := entry || jsonb_build_object('status', 'invalid', 'sqlstate', st,
                                                         'message', msg, 'detail', nullif(det, ''));
                END;
                report := report || entry;
            END LOOP;
            PERFORM set_config('metadata.tenant_id', coalesce(caller_tenant, ''), true);
        END IF;

        -- References of strict types, which the commit would check: now, to report them.
        BEGIN
            PERFORM metadata._check_references_now();
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
            failures := failures + 1;
            report := report || jsonb_build_object('status', 'invalid', 'sqlstate', st, 'message', msg,
                                                       'detail', nullif(det, ''));
        END;

        IF import.dry_run OR (failures > 0 AND NOT import.continue_on_error) THEN
            RAISE EXCEPTION 'import rolled back' USING ERRCODE = 'MDROL';
        END IF;
    EXCEPTION WHEN SQLSTATE 'MDROL' THEN
        PERFORM set_config('metadata.tenant_id', coalesce(caller_tenant, ''), true);
        RETURN metadata._import_report(to_jsonb(report), total, import.dry_run, false);
    END;
    RETURN metadata._import_report(to_jsonb(report), total, import.dry_run, true);
END
$fn$;
COMMENT ON FUNCTION metadata.import(jsonb, text, boolean, boolean, boolean) IS
  'Imports a bundle (the format of export: items {type, name, metadata} with scope, '
  'tenant_id, owner, strategy, extends, state, namespace, tags, package_id, package_version, '
  'managed_by, expected_checksum, change_note; checksum is ignored) through save, and '
  'returns a report {written, dry_run, total, counts, items: [{index, pointer, type, name, scope, tenant_id, '
  'owner, status, version, diff, sqlstate, message, detail}]}, status created, updated (diff: '
  'RFC 6902), unchanged, skipped, deleted, conflict or invalid. mode: overwrite (the item''s '
  'document and attributes), merge (the item''s document as an RFC 7396 merge patch over the '
  'stored layer), skip (existing layers untouched). All or nothing unless continue_on_error: '
  'one failed item and nothing is written (the report says why). dry_run runs every check, '
  'references included, and writes nothing. prune archives the live layers of the bundle''s '
  'types, scopes and tenants that it does not name. An item with expected_checksum is a '
  'conflict when the layer changed. A NOTICE every 500 items. Errors: 22004, 22023 (not a '
  'bundle, bad mode).';

-- The report of import: counts per status, written = whether the changes stay.
CREATE FUNCTION metadata._import_report(items jsonb, total integer, dry_run boolean, written boolean)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
    SELECT jsonb_build_object(
        'written', written, 'dry_run', dry_run, 'total', total,
        'counts', coalesce((SELECT jsonb_object_agg(s.status, s.n ORDER BY s.status)
                            FROM (SELECT e OPERATOR(pg_catalog.->>) 'status' AS status, count(*) AS n
                                  FROM pg_catalog.jsonb_array_elements(items) AS e GROUP BY 1) AS s), '{}'),
        'items', items);
END;

-- Dependencies (DESIGN §4 "Catalog"): from the types' reference paths, kept by the write
-- path as edges (metadata.sys_metadata_reference, src/pg/edges.rs; queried by
-- src/pg/dependencies.rs).
CREATE FUNCTION metadata.dependencies(type text, name text, depth integer DEFAULT 1)
RETURNS TABLE (depth integer, type text, name text, referrer_type text, referrer_name text,
               path text, found boolean)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT d.depth, d.type, d.name, d.referrer_type, d.referrer_name, d.path, d.found
    FROM metadata._dependencies(type, name, depth) AS d;
END;
COMMENT ON FUNCTION metadata.dependencies(text, text, integer) IS
  'What (type, name) depends on, for the caller: each item its effective document names at '
  'a reference path of its type (depth 1), then up to depth (1-32) what those name. One row '
  'per reference: the named item (type, name), referrer_type/referrer_name and path (JSON '
  'Pointer, RFC 6901) where it is named, and found: whether it exists for the caller. '
  'Errors: 22004, 22023 depth, 42704 unknown type.';

CREATE FUNCTION metadata.dependents(type text, name text, depth integer DEFAULT 1)
RETURNS TABLE (depth integer, type text, name text, path text, target_type text,
               target_name text)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT d.depth, d.type, d.name, d.path, d.target_type, d.target_name
    FROM metadata._dependents(type, name, depth) AS d;
END;
COMMENT ON FUNCTION metadata.dependents(text, text, integer) IS
  'What depends on (type, name), for the caller: each item whose effective document names '
  'it at a reference path (depth 1), then up to depth (1-32) what depends on those. One row '
  'per reference: the depending item (type, name), path (JSON Pointer) where it names '
  'target_type/target_name. Only layers the caller sees count (row level security). '
  'Errors: 22004, 22023 depth.';

-- Revalidation: the stored effective documents a type's schema now refuses.
CREATE FUNCTION metadata.revalidate(type text)
RETURNS TABLE (tenant_id text, owner text, name text, errors jsonb)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT r.tenant_id, r.owner, r.name, r.errors FROM metadata._revalidate(type, false) AS r;
END;
COMMENT ON FUNCTION metadata.revalidate(text) IS
  'The stored effective documents of type that do not satisfy its JSON Schema as registered '
  'now, among those the caller sees: one row per document (each item in the audience of each '
  'of its live layers: global, its tenant''s, a user''s), errors as metadata.validate gives '
  'them; no row: all valid. register_type and register_schemas run the same check over '
  'every tenant. Errors: 22004, 42704 unknown type.';

-- One row per version of a package that was installed: the installed one (at most one per
-- package), the versions it superseded, and uninstalled ones. Global, like the system rows
-- (no tenant data: no row level security; readers see every package).
CREATE TABLE metadata.sys_metadata_package (
    id           metadata.machine_name NOT NULL,
    version      text NOT NULL CHECK (version <> '' AND length(version) <= 64),
    description  text,
    state        text NOT NULL DEFAULT 'installed'
                 CHECK (state IN ('installed', 'superseded', 'uninstalled')),
    checksum     text NOT NULL,
    manifest     jsonb NOT NULL,
    published    jsonb,
    installed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    installed_by text NOT NULL DEFAULT metadata.current_actor(),
    PRIMARY KEY (id, version)
);
CREATE UNIQUE INDEX sys_metadata_package_installed ON metadata.sys_metadata_package (id)
    WHERE state = 'installed';
COMMENT ON TABLE metadata.sys_metadata_package IS
  'Packages: per (id, version) installed, the state (installed, superseded, uninstalled), the '
  'checksum of the bundle''s items (RFC 8785 canonical JSON, SHA-256), the manifest of its '
  'system rows [{type, name, version, checksum}] (their documents stay in the history), and, '
  'after publish_package, the versions before it [{type, name, version}] (revert_package).';
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_package', '');

-- The package bundle's package member {id, version, description?}, checked: 22023 at
-- /package..., 42602 a bad id.
CREATE FUNCTION metadata._package_of(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(bundle, 'bundle');
    IF jsonb_typeof(bundle) <> 'object' OR jsonb_typeof(bundle -> 'items') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'bundle must be a JSON object with an array "items"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(bundle -> 'package') IS DISTINCT FROM 'object'
       OR jsonb_typeof(bundle #> '{package,id}') IS DISTINCT FROM 'string'
       OR jsonb_typeof(bundle #> '{package,version}') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'a package bundle needs "package": {"id": ..., "version": ...} (at /package)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM metadata._require_name(bundle #>> '{package,id}', 'package id');
    IF (bundle #>> '{package,version}') = '' OR length(bundle #>> '{package,version}') > 64 THEN
        RAISE EXCEPTION '/package/version must be 1 to 64 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN bundle -> 'package';
END
$fn$;

-- The manifest of a package: its live system rows, sorted.
CREATE FUNCTION metadata._package_manifest(package_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce(jsonb_agg(jsonb_build_object('type', m.type, 'name', m.name, 'version', m.version,
                                                 'checksum', m.checksum) ORDER BY m.type, m.name), '[]')
    FROM metadata.sys_metadata m
    WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.package_id = _package_manifest.package_id
      AND m.state IN ('active', 'deprecated');
END;

-- The checksum of a bundle's items (what upgrade_package compares to find a re-run).
CREATE FUNCTION metadata._package_checksum(bundle jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN metadata.checksum(bundle -> 'items');

-- 42501 unless the caller is a metadata_admin.
CREATE FUNCTION metadata._require_admin(what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT metadata._is_admin() THEN
        RAISE EXCEPTION '% needs metadata_admin', what USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$fn$;

CREATE FUNCTION metadata.install_package(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg jsonb := metadata._package_of(install_package.bundle);
    pkg_id text := pkg ->> 'id';
    installed metadata.sys_metadata_package;
    bad record;
    report jsonb;
BEGIN
    PERFORM metadata._require_admin('install_package');
    SELECT * INTO installed FROM metadata.sys_metadata_package p
    WHERE p.id = pkg_id AND p.state = 'installed';
    IF FOUND THEN
        RAISE EXCEPTION 'package % is installed (version %)', pkg_id, installed.version
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Use metadata.upgrade_package to install another version.';
    END IF;
    -- The first item that is not a global system row of this package, and the member that
    -- says so.
    SELECT e.n - 1 AS i, CASE WHEN jsonb_typeof(e.item) <> 'object' THEN ''
                              WHEN e.item ? 'tenant_id' THEN '/tenant_id'
                              WHEN e.item ? 'owner' THEN '/owner'
                              WHEN coalesce(e.item ->> 'scope', 'system') <> 'system' THEN '/scope'
                              ELSE '/package_id' END AS member
    INTO bad
    FROM jsonb_array_elements(install_package.bundle -> 'items') WITH ORDINALITY AS e(item, n)
    WHERE jsonb_typeof(e.item) <> 'object' OR e.item ? 'tenant_id' OR e.item ? 'owner'
       OR coalesce(e.item ->> 'scope', 'system') <> 'system'
       OR coalesce(e.item ->> 'package_id', pkg_id) <> pkg_id
    ORDER BY e.n LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a package''s items are global rows of scope system of that package (at %)',
                        '/items/' || bad.i || bad.member
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.type, m.name, m.package_id INTO bad
    FROM jsonb_array_elements(install_package.bundle -> 'items') AS e(item)
    JOIN metadata.sys_metadata m ON m.type = e.item ->> 'type' AND m.name = e.item ->> 'name'
    WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.state IN ('active', 'deprecated')
      AND m.package_id IS NOT NULL AND m.package_id <> pkg_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% "%" belongs to package %', bad.type, bad.name, bad.package_id
            USING ERRCODE = 'duplicate_object';
    END IF;
    report := metadata.import(jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(e.item || jsonb_build_object(
                   'scope', 'system', 'package_id', pkg_id, 'package_version', pkg ->> 'version',
                   'managed_by', 'package',
                   'change_note', coalesce(e.item ->> 'change_note',
                                           'install_package ' || pkg_id || ' ' || (pkg ->> 'version')))
                   - 'checksum' ORDER BY e.n), '[]')
        FROM jsonb_array_elements(install_package.bundle -> 'items') WITH ORDINALITY AS e(item, n))));
    IF (report ->> 'written')::boolean THEN
        INSERT INTO metadata.sys_metadata_package AS p (id, version, description, checksum, manifest)
        VALUES (pkg_id, pkg ->> 'version', pkg ->> 'description',
                metadata._package_checksum(install_package.bundle), metadata._package_manifest(pkg_id))
        ON CONFLICT (id, version) DO UPDATE
            SET state = 'installed', description = EXCLUDED.description, checksum = EXCLUDED.checksum,
                manifest = EXCLUDED.manifest, published = NULL, installed_at = EXCLUDED.installed_at,
                installed_by = EXCLUDED.installed_by;
    END IF;
    RETURN jsonb_build_object('package', pkg_id, 'version', pkg ->> 'version',
                              'installed', (report ->> 'written')::boolean) || report;
END
$fn$;
COMMENT ON FUNCTION metadata.install_package(jsonb) IS
  'Installs a package bundle (the bundle format plus "package": {"id", "version", '
  '"description"?}): its items become global system rows with package_id and '
  'package_version (through import: dependencies first, all or nothing), and the registry '
  'records the version. Returns the import report with package, version and installed. '
  'Errors: 42501 unless metadata_admin, 22004, 22023 (not a package bundle, an item of '
  'another scope, tenant or package), 42602 bad id, 42710 the package is installed or an '
  'item belongs to another package.';

CREATE FUNCTION metadata.packages()
RETURNS TABLE (id text, version text, description text, items integer, checksum text,
               installed_at timestamptz, installed_by text, published boolean)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT p.id, p.version, p.description, jsonb_array_length(p.manifest), p.checksum,
           p.installed_at, p.installed_by, p.published IS NOT NULL
    FROM metadata.sys_metadata_package p
    WHERE p.state = 'installed'
    ORDER BY p.id;
END;
COMMENT ON FUNCTION metadata.packages() IS
  'The installed packages: id, version, description, number of items, checksum of the '
  'bundle''s items, when and by whom installed, whether a publish_package can be reverted.';

-- The installed version of package_id: 42704 when there is none.
CREATE FUNCTION metadata._installed_package(package_id text) RETURNS metadata.sys_metadata_package
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    found_row metadata.sys_metadata_package;
BEGIN
    PERFORM metadata._require(package_id, 'package_id');
    SELECT * INTO found_row FROM metadata.sys_metadata_package p
    WHERE p.id = _installed_package.package_id AND p.state = 'installed';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'package % is not installed', package_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN found_row;
END
$fn$;

CREATE FUNCTION metadata.uninstall_package(package_id text, keep_customisations boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    items jsonb;
    i integer;
    overlays integer := 0;
    deleted integer := 0;
BEGIN
    PERFORM metadata._require_admin('uninstall_package');
    pkg := metadata._installed_package(uninstall_package.package_id);
    IF NOT coalesce(keep_customisations, true) THEN
        overlays := metadata._archive_overlays(pkg.id);
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('type', m.type, 'name', m.name, 'metadata', m.metadata,
                                                 'extends', m.extends) ORDER BY m.type, m.name), '[]')
    INTO items
    FROM metadata.sys_metadata m
    WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.package_id = pkg.id
      AND m.state IN ('active', 'deprecated');
    -- Dependents first: the reverse of the order an import writes them in.
    FOR i IN SELECT o.n FROM unnest(metadata._import_order(items)) WITH ORDINALITY AS o(n, k) ORDER BY o.k DESC
    LOOP
        IF metadata.delete(items -> i ->> 'type', items -> i ->> 'name', 'system') THEN
            deleted := deleted + 1;
        END IF;
    END LOOP;
    UPDATE metadata.sys_metadata_package p SET state = 'uninstalled'
    WHERE p.id = pkg.id AND p.version = pkg.version;
    RETURN jsonb_build_object('package', pkg.id, 'version', pkg.version, 'deleted', deleted,
                              'customisations_deleted', overlays);
END
$fn$;
COMMENT ON FUNCTION metadata.uninstall_package(text, boolean) IS
  'Uninstalls a package: archives its system rows (dependents first; history kept) and, '
  'unless keep_customisations, every tenant''s and user''s live overlay over them; the '
  'registry row becomes uninstalled. Kept overlays then serve their items alone, as '
  'runtime-created items. Returns {package, version, deleted, customisations_deleted}. '
  'Errors: 42501 unless metadata_admin, 42704 not installed, 23503 items outside the '
  'package depend on one of its items.';

CREATE FUNCTION metadata.upgrade_package(package_id text, bundle jsonb,
                                         strategy text DEFAULT 'three-way-merge',
                                         dry_run boolean DEFAULT false,
                                         resolutions jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    info jsonb;
    report jsonb;
    st text;
    msg text;
    det text;
BEGIN
    PERFORM metadata._require_admin('upgrade_package');
    pkg := metadata._installed_package(upgrade_package.package_id);
    info := metadata._package_of(upgrade_package.bundle);
    BEGIN
        report := metadata._upgrade_package(pkg.id, pkg.version, upgrade_package.bundle,
                                            upgrade_package.strategy, upgrade_package.resolutions);
        IF coalesce(upgrade_package.dry_run, false) OR NOT (report ->> 'written')::boolean THEN
            RAISE EXCEPTION 'upgrade rolled back' USING ERRCODE = 'MDROL';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'MDROL' THEN
            RETURN report || jsonb_build_object('written', false, 'dry_run', coalesce(upgrade_package.dry_run, false));
        -- A resulting document that its type refuses: reported, nothing written.
        WHEN check_violation OR foreign_key_violation OR feature_not_supported OR invalid_recursion THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
            RETURN jsonb_build_object('package', pkg.id, 'from_version', pkg.version,
                                      'to_version', info ->> 'version', 'strategy', upgrade_package.strategy,
                                      'written', false, 'dry_run', coalesce(upgrade_package.dry_run, false),
                                      'error', jsonb_build_object('sqlstate', st, 'message', msg,
                                                                  'detail', nullif(det, '')));
    END;
    -- The same version again, nothing changed: the registry stays as it is.
    IF pkg.version = info ->> 'version' AND pkg.checksum = metadata._package_checksum(upgrade_package.bundle)
       AND pkg.manifest = metadata._package_manifest(pkg.id) THEN
        RETURN report || jsonb_build_object('dry_run', false);
    END IF;
    IF pkg.version <> info ->> 'version' THEN
        UPDATE metadata.sys_metadata_package p SET state = 'superseded'
        WHERE p.id = pkg.id AND p.version = pkg.version;
    END IF;
    INSERT INTO metadata.sys_metadata_package AS p (id, version, description, checksum, manifest)
    VALUES (pkg.id, info ->> 'version', coalesce(info ->> 'description', pkg.description),
            metadata._package_checksum(upgrade_package.bundle), metadata._package_manifest(pkg.id))
    ON CONFLICT (id, version) DO UPDATE
        SET state = 'installed', description = EXCLUDED.description, checksum = EXCLUDED.checksum,
            manifest = EXCLUDED.manifest,
            published = CASE WHEN p.manifest = EXCLUDED.manifest THEN p.published END,
            installed_at = CASE WHEN p.manifest = EXCLUDED.manifest AND p.state = 'installed'
                                THEN p.installed_at ELSE EXCLUDED.installed_at END,
            installed_by = CASE WHEN p.manifest = EXCLUDED.manifest AND p.state = 'installed'
                                THEN p.installed_by ELSE EXCLUDED.installed_by END;
    RETURN report || jsonb_build_object('dry_run', false);
END
$fn$;
COMMENT ON FUNCTION metadata.upgrade_package(text, jsonb, text, boolean, jsonb) IS
  'Upgrades an installed package to the package bundle''s version: its system rows take the '
  'new documents, items it no longer ships become deprecated, and every overlay of every '
  'tenant and user over a changed item is merged (old base O, new base N, customisation C, '
  'per JSON Pointer; arrays are single values) and stored as the minimal RFC 7396 patch '
  'over N (base_checksum refreshed; history op upgrade). strategy: three-way-merge (a path '
  'both changed differently is a conflict), keep-custom (C stays: masked), accept-incoming '
  '(N wins: overwritten). A conflict writes nothing: the report lists it; resolutions '
  '[{type, name, path, tenant_id?, scope?, owner?, resolution: custom|incoming|value, '
  'value?}] finish it. Every resulting effective document is checked as save checks it. '
  'dry_run runs everything and writes nothing. Re-running the same upgrade changes nothing. '
  'Returns {package, from_version, to_version, strategy, written, dry_run, counts, items, '
  'overlays, findings: [{tenant_id, type, name, scope, owner, path, old_base, new_base, '
  'custom, kind, outcome}], error?}, findings ordered by item, tenant, layer, owner, path. '
  'Errors: 42501 unless metadata_admin, 42704 not installed or unknown type, 22004, 22023 '
  '(bad bundle, strategy or resolutions, with a JSON Pointer), 42602, 42710.';

CREATE FUNCTION metadata.publish_package(package_id text, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    d record;
    before jsonb[] := '{}';
    done jsonb[] := '{}';
    published metadata.sys_metadata;
    failed record;
    types text[];
BEGIN
    PERFORM metadata._require_admin('publish_package');
    pkg := metadata._installed_package(publish_package.package_id);
    FOR d IN
        SELECT m.id, m.type, m.name::text AS name, m.package_id, m.package_version, m.managed_by,
               (SELECT l.version FROM metadata.sys_metadata l
                WHERE l.tenant_id IS NULL AND l.scope = 'system' AND l.type = m.type AND l.name = m.name
                  AND l.state IN ('active', 'deprecated')) AS live_version
        FROM metadata.sys_metadata m
        WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.state = 'draft'
          AND (m.package_id = pkg.id
               OR (m.type, m.name::text) IN (SELECT e ->> 'type', e ->> 'name'
                                             FROM jsonb_array_elements(pkg.manifest) e))
        ORDER BY m.type, m.name
    LOOP
        before := before || jsonb_build_object('type', d.type, 'name', d.name, 'version', d.live_version);
        -- The draft goes live with the package's provenance (publish takes the draft's
        -- attributes).
        IF (d.package_id, d.package_version, d.managed_by) IS DISTINCT FROM (pkg.id, pkg.version, 'package') THEN
            UPDATE metadata.sys_metadata m
            SET package_id = pkg.id, package_version = pkg.version, managed_by = 'package'
            WHERE m.id = d.id;
        END IF;
        published := metadata.publish(d.type, d.name, 'system', change_note => publish_package.note);
        done := done || jsonb_build_object('type', d.type, 'name', d.name, 'version', published.version);
        types := types || d.type;
    END LOOP;
    -- Every effective document of the published items, for every tenant and user, against
    -- its type's schema where the type is strict: one failure and nothing is published.
    SELECT count(*) AS n, string_agg(concat_ws(' ', f.type, '"' || f.name || '"',
                                               'of tenant ' || f.tenant_id, 'of user ' || f.owner, f.errors::text),
                                     E'\n' ORDER BY f.type, f.name, f.tenant_id, f.owner) AS lines
    INTO failed
    FROM (SELECT DISTINCT t FROM unnest(types) t) u
    JOIN metadata.sys_metadata_type ty ON ty.name = u.t AND ty.validation_mode = 'strict',
         LATERAL (SELECT u.t AS type, r.* FROM metadata._revalidate(u.t, true) r) f
    WHERE EXISTS (SELECT FROM unnest(done) x WHERE x ->> 'type' = f.type AND x ->> 'name' = f.name);
    IF failed.n > 0 THEN
        RAISE EXCEPTION 'publishing package % would leave % effective document(s) invalid', pkg.id, failed.n
            USING ERRCODE = 'check_violation', DETAIL = left(failed.lines, 4000);
    END IF;
    IF cardinality(done) > 0 THEN
        UPDATE metadata.sys_metadata_package p
        SET published = to_jsonb(before), manifest = metadata._package_manifest(pkg.id)
        WHERE p.id = pkg.id AND p.version = pkg.version;
    END IF;
    RETURN jsonb_build_object('package', pkg.id, 'version', pkg.version, 'published', to_jsonb(done));
END
$fn$;
COMMENT ON FUNCTION metadata.publish_package(text, text) IS
  'Publishes every draft of the package''s system rows in one transaction (as publish, '
  'change note note), after checking every resulting effective document of every tenant '
  'and user against its strict type''s schema: all or nothing. Records the versions before '
  'it for revert_package. Returns {package, version, published: [{type, name, version}]}. '
  'Errors: 42501 unless metadata_admin, 42704 not installed, 23514 an effective document '
  'would be invalid (DETAIL lists them), and those of publish.';

CREATE FUNCTION metadata.revert_package(package_id text, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    e jsonb;
    reverted jsonb[] := '{}';
    row_now metadata.sys_metadata;
BEGIN
    PERFORM metadata._require_admin('revert_package');
    pkg := metadata._installed_package(revert_package.package_id);
    IF pkg.published IS NULL THEN
        RAISE EXCEPTION 'package % has no publish to revert', pkg.id USING ERRCODE = 'no_data_found';
    END IF;
    FOR e IN SELECT x FROM jsonb_array_elements(pkg.published) x ORDER BY x ->> 'type', x ->> 'name'
    LOOP
        IF e -> 'version' = 'null' THEN
            PERFORM metadata.delete(e ->> 'type', e ->> 'name', 'system', cascade => true);
            reverted := reverted || (e || '{"status": "deleted"}');
        ELSE
            row_now := metadata.rollback(e ->> 'type', e ->> 'name', (e ->> 'version')::integer,
                                         coalesce(revert_package.note, 'revert_package ' || pkg.id), 'system');
            reverted := reverted || (e || jsonb_build_object('status', 'reverted', 'version', row_now.version));
        END IF;
    END LOOP;
    UPDATE metadata.sys_metadata_package p
    SET published = NULL, manifest = metadata._package_manifest(pkg.id)
    WHERE p.id = pkg.id AND p.version = pkg.version;
    RETURN jsonb_build_object('package', pkg.id, 'version', pkg.version, 'reverted', to_jsonb(reverted));
END
$fn$;
COMMENT ON FUNCTION metadata.revert_package(text, text) IS
  'Returns the package''s system rows to the versions before the last publish_package (as '
  'rollback, op revert; an item the publish created is archived). Returns {package, '
  'version, reverted: [{type, name, version, status}]}. Errors: 42501 unless '
  'metadata_admin, 42704 not installed, P0002 nothing to revert, and those of rollback.';

-- Every upgrade script ends with these two calls.
SELECT metadata._sync_builtin_types();
SELECT metadata._grant_privileges();
