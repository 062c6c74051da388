-- metadata 0.1.0 -> 0.2.0 (ALTER EXTENSION metadata UPDATE TO '0.2.0').
-- Every change to the extension's SQL objects since 0.1.0 is written here, in the same
-- commit as the change; tests/upgrade/upgrade.sh checks that a 0.1.0 database updated by
-- this script has the same catalog as a fresh CREATE EXTENSION of 0.2.0.
\echo Use "ALTER EXTENSION metadata UPDATE TO '0.2.0'" to load this file. \quit

-- Each SQL-callable Rust function is now named as its SQL function, and binds the symbol
-- of that name (src/pg/legacy.rs keeps 0.1.0's symbols for 0.1.0 install scripts).
CREATE OR REPLACE FUNCTION metadata._below_checksum(type_name text, name text, scope text, tenant text,
                                                    owner text, extends text) RETURNS text
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_below_checksum_wrapper';
CREATE OR REPLACE FUNCTION metadata._builtin_types()
RETURNS TABLE (name text, domain text, schema jsonb, reference_paths jsonb, locked_paths text[])
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_builtin_types_wrapper';
CREATE OR REPLACE FUNCTION metadata._canonical(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_canonical_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_references(type_name text, name text, tenant text, owner text)
RETURNS void VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_check_references_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_schema(type_name text, schema text) RETURNS void
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_check_schema_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_write(type_name text, name text, scope text, tenant text,
                                                 owner text, extends text, draft boolean) RETURNS void
VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_check_write_wrapper';
CREATE OR REPLACE FUNCTION metadata._checksum(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_checksum_wrapper';
CREATE OR REPLACE FUNCTION metadata._diff(a text, b text) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_diff_wrapper';
CREATE OR REPLACE FUNCTION metadata._document_checksum(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_document_checksum_wrapper';
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

CREATE OR REPLACE FUNCTION metadata.sys_metadata_after_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r metadata.sys_metadata;
    op text := nullif(current_setting('metadata.change_op', true), '');
    version integer;
BEGIN
    IF metadata._restoring() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
        RETURN NULL;  -- nothing changed
    END IF;
    IF TG_OP = 'DELETE' THEN
        r := OLD;
        version := OLD.version + 1;
        op := coalesce(op, 'delete');
    ELSE
        r := NEW;
        version := NEW.version;
        op := coalesce(op, CASE WHEN TG_OP = 'INSERT' THEN 'create'
                                WHEN NEW.state = 'archived' AND OLD.state <> 'archived' THEN 'delete'
                                ELSE 'update' END);
    END IF;
    INSERT INTO metadata.sys_metadata_history
        (item_id, op, tenant_id, type, name, scope, owner, state, strategy, extends, version,
         metadata, checksum, previous_checksum, changed_by, note)
    VALUES (r.id, op, r.tenant_id, r.type, r.name, r.scope, r.owner,
            CASE WHEN TG_OP = 'DELETE' THEN 'deleted' ELSE r.state END, r.strategy, r.extends,
            version, r.metadata, r.checksum,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.checksum END,
            CASE WHEN TG_OP = 'DELETE' THEN current_setting('metadata.deleted_by', true)
                 ELSE NEW.updated_by END,
            nullif(current_setting('metadata.change_note', true), ''));
    PERFORM metadata._feed_pending();
    RETURN NULL;
END
$fn$;

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

CREATE OR REPLACE FUNCTION metadata.sys_metadata_type_before_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
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

CREATE OR REPLACE FUNCTION metadata.register_type(
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
    description text DEFAULT NULL
) RETURNS metadata.sys_metadata_type
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    cur metadata.sys_metadata_type;
    result metadata.sys_metadata_type;
BEGIN
    PERFORM metadata._require(register_type.name, 'name');
    IF register_type.name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
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
    RETURN result;
END
$fn$;
COMMENT ON FUNCTION metadata.register_type(text, text, jsonb, text, text[], jsonb, boolean, boolean, boolean, boolean, integer, text) IS
  'Creates a type or changes an existing one; arguments left NULL keep their value (defaults '
  'for a new type: strict, no locked paths, no reference paths, overlays and runtime items '
  'allowed, load_order 100). schema: a JSON Schema (any draft; $ref only to '
  'urn:metadata:schema:<type> or the $id of a registered schema; true accepts everything). '
  'locked_paths: JSON Pointers overlays may not change. reference_paths: [{"path", "type"}] '
  'with * for every member; check_references: strict writes must name existing items there, '
  'checked at commit (default on; off for the built-in types). Takes effect for the next write in every session; stored '
  'documents are not re-validated. Errors: 22004, 22023 (bad domain, mode, pointers, or an '
  'invalid or remote-referencing schema, with the reason), 42602 bad name.';

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
            WHERE a.grantee = 0 OR r.rolname IN ('metadata_reader', 'metadata_editor', 'metadata_admin')),
        wanted(kind, object, grantee, privilege) AS (
            VALUES ('SCHEMA', 'metadata', 'metadata_reader', 'USAGE'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_history', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_editor', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_editor', 'UPDATE'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_editor', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'UPDATE'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'DELETE')
            UNION ALL
            SELECT 'ROUTINE', p.oid::regprocedure::text, 'metadata_reader', 'EXECUTE'
            FROM pg_proc p
            WHERE p.pronamespace = 'metadata'::regnamespace AND NOT p.prosecdef
              AND p.proname <> '_grant_privileges')
        -- Every ACL is made explicit (a REVOKE that changes nothing does it), as 0.1.0's
        -- script left them, then the differences are granted or revoked, reader first.
        SELECT * FROM (
            SELECT 'REVOKE' AS action, 'FROM' AS direction, o.kind, o.object, 'PUBLIC' AS grantee,
                   'ALL' AS privilege
            FROM objects o WHERE NOT o.explicit
            UNION ALL
            SELECT 'GRANT', 'TO', w.* FROM (TABLE wanted EXCEPT TABLE present) w
            UNION ALL
            SELECT 'REVOKE', 'FROM', p.* FROM (TABLE present EXCEPT TABLE wanted) p) AS d
        ORDER BY d.kind, d.object, array_position(ARRAY['PUBLIC', 'metadata_reader', 'metadata_editor',
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
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    head bigint NOT NULL CHECK (head >= 0)
);
COMMENT ON TABLE metadata.sys_metadata_feed IS
  'The head of the change feed (the last seq given); written by the feed step only.';
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
CREATE FUNCTION metadata._feed_pending() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_feed_pending_wrapper';
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
    BEFORE UPDATE OF seq ON metadata.sys_metadata_history
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

-- Every upgrade script ends with these two calls.
SELECT metadata._sync_builtin_types();
SELECT metadata._grant_privileges();
