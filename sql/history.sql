-- metadata: history, rollback, diff and change events (DESIGN §4 "History", "Concurrency",
-- "Change events"). Part of the extension script (see src/lib.rs for the order).
--
-- Every change of a sys_metadata row, by save() or by plain SQL, gets a history row in the
-- same transaction (an AFTER trigger). At the end of the committing transaction the feed
-- step (src/pg/feed.rs) gives the transaction's changes their positions in the change feed
-- (seq: dense, in commit order) and rings the doorbell metadata_changes. The history table
-- is the durable feed: changes_since reads it.

CREATE TABLE metadata.sys_metadata_history (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Position in the change feed, set at commit (NULL only inside the writing transaction).
    seq               bigint,
    item_id           uuid NOT NULL,
    op                text NOT NULL CHECK (op IN ('create', 'update', 'publish', 'revert', 'delete', 'upgrade')),
    tenant_id         text,
    type              text NOT NULL,
    name              text NOT NULL,
    scope             text NOT NULL,
    owner             text,
    state             text NOT NULL,
    strategy          text NOT NULL,
    extends           text,
    version           integer NOT NULL,
    metadata          jsonb NOT NULL,
    checksum          text NOT NULL,
    previous_checksum text,
    changed_by        text NOT NULL,
    changed_at        timestamptz NOT NULL DEFAULT now(),
    txid              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    note              text,
    -- When the change got its seq (the feed step, at commit): what retention by age reads,
    -- never changed_at (the start of the writing transaction: a change committed just now
    -- can look old). NULL for rows numbered before 0.2.0.
    sequenced_at      timestamptz,
    UNIQUE (item_id, version)
);
COMMENT ON TABLE metadata.sys_metadata_history IS
  'Every change of every sys_metadata row (append-only), and the durable change feed (seq).';
-- Feed positions are unique; rows not numbered yet are not indexed (a row is inserted
-- before its commit numbers it).
CREATE UNIQUE INDEX sys_metadata_history_seq ON metadata.sys_metadata_history (seq)
    WHERE seq IS NOT NULL;
-- The changes still waiting for their feed position (preloaded mode: the feed worker numbers
-- them after their commit; plain mode: a row is in it from its insert to its commit).
CREATE INDEX sys_metadata_history_unnumbered ON metadata.sys_metadata_history (id)
    WHERE seq IS NULL;
-- The tenant leads, as in sys_metadata.
CREATE INDEX sys_metadata_history_item ON metadata.sys_metadata_history
    (tenant_id, type, name, scope, owner, version);
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_history', '');

-- The head of the change feed: the last position given (one row, created by the first
-- feed step). Only the extension's owner reads or locks it: the feed step takes it in
-- EXCLUSIVE mode to the end of the commit, which orders the committing writers.
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

-- The history trigger (src/pg/history.rs, function sys_metadata_after_write in Rust): every
-- change of a row, by the API or by plain SQL, gets its history row in the same transaction,
-- written as the extension's owner (callers cannot write history themselves). The operation
-- is create, update or delete (archive or DELETE) unless the write function making the
-- change names it (publish, revert; in the library's memory, so a caller cannot name it);
-- the note is the write function's change_note, else the setting metadata.change_note.
-- Rows restored from a dump (metadata._restoring) already have their history.
CREATE TRIGGER sys_metadata_after_write
    AFTER INSERT OR UPDATE OR DELETE ON metadata.sys_metadata
    FOR EACH ROW EXECUTE FUNCTION metadata.sys_metadata_after_write();

-- Rows a logical replication subscription applies (session_replication_role = replica)
-- arrive with their history, edges and feed positions, and the history trigger does not
-- fire for them; this one fires only then, and notes the change buckets of preloaded mode
-- (src/pg/history.rs, docs/scale-out.md "Logical replicas").
CREATE TRIGGER sys_metadata_after_replicated_write
    AFTER INSERT OR UPDATE OR DELETE ON metadata.sys_metadata
    FOR EACH ROW EXECUTE FUNCTION metadata.sys_metadata_after_replicated_write();
ALTER TABLE metadata.sys_metadata ENABLE REPLICA TRIGGER sys_metadata_after_replicated_write;

-- TRUNCATE would drop rows without history: refused.
CREATE FUNCTION metadata.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of %.% is not supported: it would bypass history', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'feature_not_supported',
              HINT = 'Use metadata.delete() (or DELETE) so that every change is recorded.';
END
$fn$;
CREATE TRIGGER sys_metadata_no_truncate BEFORE TRUNCATE ON metadata.sys_metadata
    FOR EACH STATEMENT EXECUTE FUNCTION metadata.refuse_truncate();
CREATE TRIGGER sys_metadata_history_no_truncate BEFORE TRUNCATE ON metadata.sys_metadata_history
    FOR EACH STATEMENT EXECUTE FUNCTION metadata.refuse_truncate();

-- History is append-only: only the feed position may be set, once. The first trigger
-- fires for a DELETE and for an UPDATE that sets any column but seq (list every column of
-- the table but seq here); the second for an UPDATE of seq on a row that has one. The feed
-- step's UPDATE sets only seq, of rows without one, so neither fires for it.
CREATE FUNCTION metadata.sys_metadata_history_immutable() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION 'metadata.sys_metadata_history is append-only'
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;
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

------------------------------------------------------------------------------------------
-- Reading history
------------------------------------------------------------------------------------------

-- History rows of (type, name) the caller may see: global layers, the tenant's platform
-- layers, and the caller's own user layers; optionally one scope (and owner).
CREATE FUNCTION metadata._history_rows(p_type text, p_name text, p_scope text, p_owner text)
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

CREATE FUNCTION metadata.history(type text, name text, scope text DEFAULT NULL,
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

-- The history row of the layer (scope, owner) of (type, name) at version (live rows, not
-- drafts); raises P0002 no_data_found when there is none.
CREATE FUNCTION metadata._history_at(p_type text, p_name text, p_version integer,
                                     p_scope text, p_owner text)
RETURNS metadata.sys_metadata_history
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k record;
    found_row metadata.sys_metadata_history;
BEGIN
    PERFORM metadata._require(p_type, 'type');
    PERFORM metadata._require(p_name, 'name');
    PERFORM metadata._require(p_version, 'version');
    SELECT * INTO k FROM metadata._layer_key(p_scope, p_owner);
    SELECT * INTO found_row
    FROM metadata._history_rows(p_type, p_name, p_scope, k.owner_id) AS h
    WHERE h.version = p_version AND h.state <> 'draft'
      AND h.tenant_id IS NOT DISTINCT FROM k.tenant_id AND h.owner IS NOT DISTINCT FROM k.owner_id
    ORDER BY h.id DESC LIMIT 1;
    IF found_row.id IS NULL THEN
        RAISE EXCEPTION 'no version % of %', p_version,
                        metadata._describe(p_type, p_name, p_scope, k.tenant_id, k.owner_id)
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found_row;
END
$fn$;

CREATE FUNCTION metadata.at_version(type text, name text, version integer,
                                    scope text DEFAULT 'platform', owner text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
RETURN (metadata._history_at(type, name, version, scope, owner)).metadata;
COMMENT ON FUNCTION metadata.at_version(text, text, integer, text, text) IS
  'The document of one layer (scope, owner) of (type, name) as it was at version. Errors: '
  '22004, 22023, P0002 no such version.';

CREATE FUNCTION metadata.diff(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._diff(a::text, b::text);
COMMENT ON FUNCTION metadata.diff(jsonb, jsonb) IS
  'RFC 6902 JSON Patch that turns a into b (json-patch crate). Errors: 54000/54001 limits.';

CREATE FUNCTION metadata.diff(type text, name text, from_version integer, to_version integer,
                              scope text DEFAULT 'platform', owner text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
RETURN metadata.diff(metadata.at_version(type, name, from_version, scope, owner),
                     metadata.at_version(type, name, to_version, scope, owner));
COMMENT ON FUNCTION metadata.diff(text, text, integer, integer, text, text) IS
  'RFC 6902 JSON Patch from one version of a layer of (type, name) to another. Errors: '
  '22004, 22023, P0002 no such version.';

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

-- One change of the feed, as changes_since returns it (the NOTIFY payload plus changed_at).
CREATE TYPE metadata.change_event AS (
    seq bigint, op text, tenant_id text, type text, name text, scope text, owner text,
    version integer, checksum text, changed_at timestamptz
);

CREATE FUNCTION metadata.changes_since(seq bigint, "limit" integer DEFAULT 100)
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
