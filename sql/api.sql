-- metadata: the public SQL API (DESIGN §4). Runs last in the extension script, after the
-- Rust functions (metadata._*) exist. Every function here is SECURITY INVOKER: it reads
-- and writes with the caller's rights.

------------------------------------------------------------------------------------------
-- Documents
------------------------------------------------------------------------------------------

CREATE FUNCTION metadata.checksum(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._checksum(doc::text);
COMMENT ON FUNCTION metadata.checksum(jsonb) IS
  'sha256: + hex SHA-256 of the canonical JSON of doc (keys sorted, no whitespace). '
  'Errors: 54000 over 4 MiB, 54001 nested over 100 levels.';

CREATE FUNCTION metadata.canonical(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._canonical(doc::text);
COMMENT ON FUNCTION metadata.canonical(jsonb) IS
  'Canonical JSON text of doc: object keys sorted by code point, no whitespace, numbers as stored.';

CREATE FUNCTION metadata.merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._merge_patch(target::text, patch::text);
COMMENT ON FUNCTION metadata.merge_patch(jsonb, jsonb) IS
  'RFC 7396 JSON Merge Patch: patch applied to target (null deletes, objects merge, '
  'everything else replaces).';

------------------------------------------------------------------------------------------
-- Effective resolution (DESIGN §3)
------------------------------------------------------------------------------------------

CREATE FUNCTION metadata.effective(type text, name text, preview boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN metadata._effective(type, name, preview);
COMMENT ON FUNCTION metadata.effective(text, text, boolean) IS
  'Effective document of (type, name) for the caller (metadata.tenant_id, metadata.user_id): '
  'system global, platform global, platform of the tenant, user of the tenant for the user, '
  'RFC 7396 merge or replace, from the extends parent when set. NULL when the item does not '
  'exist. preview => true uses draft rows. Errors: 22004 NULL type/name, 42P19 extends cycle, '
  '23503 missing extends parent, 54001 chain over 32.';

CREATE FUNCTION metadata.effective_all(type text, preview boolean DEFAULT false)
RETURNS TABLE (name text, doc jsonb)
LANGUAGE sql STABLE PARALLEL RESTRICTED ROWS 100
BEGIN ATOMIC
    SELECT e.name, e.doc FROM metadata._effective_all(type, preview) AS e;
END;
COMMENT ON FUNCTION metadata.effective_all(text, boolean) IS
  'Effective documents of every item of type visible to the caller, in name order, from one '
  'read of the table. Errors: as metadata.effective.';

CREATE FUNCTION metadata.explain(type text, name text, preview boolean DEFAULT false)
RETURNS TABLE (ordinal integer, item text, scope text, tenant_id text, owner text,
               strategy text, state text, version integer, extends text, checksum text,
               base_checksum text, stale boolean)
LANGUAGE sql STABLE PARALLEL RESTRICTED ROWS 4
BEGIN ATOMIC
    SELECT e.ordinal, e.item, e.scope, e.tenant_id, e.owner, e.strategy, e.state, e.version,
           e.extends, e.checksum, e.base_checksum, e.stale
    FROM metadata._explain(type, name, preview) AS e;
END;
COMMENT ON FUNCTION metadata.explain(text, text, boolean) IS
  'One row per layer applied to build the effective document, bottom first (layers of '
  'extends ancestors first, item names them). stale: the base_checksum the layer was written '
  'over differs from the checksum of what is below it now. Errors: as metadata.effective.';

------------------------------------------------------------------------------------------
-- Argument checks shared by the write functions
------------------------------------------------------------------------------------------

-- Raises 22004 null_value_not_allowed when value is NULL.
CREATE FUNCTION metadata._require(value anyelement, what text) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE
AS $fn$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN value;
END
$fn$;

-- Raises 22004 when value is NULL, 22023 invalid_parameter_value unless it is one of allowed.
CREATE FUNCTION metadata._require_one_of(value text, what text, allowed text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $fn$
BEGIN
    PERFORM metadata._require(value, what);
    IF NOT value = ANY (allowed) THEN
        RAISE EXCEPTION 'unknown % "%"', what, left(value, 200)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Use one of: %s.', array_to_string(allowed, ', '));
    END IF;
    RETURN value;
END
$fn$;

-- Raises 42602 invalid_name unless name is a machine name.
CREATE FUNCTION metadata._require_name(value text, what text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $fn$
BEGIN
    PERFORM metadata._require(value, what);
    IF value !~ '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$' THEN
        RAISE EXCEPTION 'invalid % "%"', what, left(value, 200)
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Names start with a letter or "_" and contain only letters, digits, "_", "." and "-" (at most 128).';
    END IF;
    RETURN value;
END
$fn$;

-- Raises 42704 undefined_object unless the type is registered.
CREATE FUNCTION metadata._require_type(value text) RETURNS text
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
    PERFORM metadata._require(value, 'type');
    IF NOT EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = value) THEN
        RAISE EXCEPTION 'metadata type "%" is not registered', left(value, 200)
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with metadata.register_type, or see metadata.sys_metadata_type.';
    END IF;
    RETURN value;
END
$fn$;

-- The (tenant_id, owner) of the layer a write at scope addresses, for the caller's context:
-- system rows are global and have no owner; platform rows belong to the caller's tenant;
-- user rows to the caller's tenant and to owner (default metadata.user_id).
-- Errors: 22023 unknown scope, owner given outside user scope, user scope without owner.
CREATE FUNCTION metadata._layer_key(scope text, owner text, OUT tenant_id text, OUT owner_id text)
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
    PERFORM metadata._require_one_of(scope, 'scope', ARRAY['system', 'platform', 'user']);
    IF scope = 'user' THEN
        owner_id := coalesce(nullif(owner, ''), metadata.current_user_id());
        IF owner_id IS NULL THEN
            RAISE EXCEPTION 'a user-scope layer needs an owner'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass owner => ... or SET metadata.user_id.';
        END IF;
    ELSIF owner IS NOT NULL THEN
        RAISE EXCEPTION 'only user-scope layers have an owner (scope is %)', scope
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tenant_id := CASE WHEN scope = 'system' THEN NULL ELSE metadata.current_tenant() END;
END
$fn$;

-- The row of one layer key in the live states (active, deprecated; else the newest archived
-- row) or the draft state, locked FOR UPDATE; NULL when there is none.
CREATE FUNCTION metadata._lock_layer(p_type text, p_name text, p_tenant text, p_scope text,
                                     p_owner text, p_draft boolean)
RETURNS metadata.sys_metadata
LANGUAGE plpgsql
AS $fn$
DECLARE
    found_id uuid;
    found_row metadata.sys_metadata;
BEGIN
    SELECT m.id INTO found_id
    FROM metadata._layer_rows(p_type, p_name, p_tenant, p_scope, p_owner) AS m
    WHERE (m.state = 'draft') = p_draft
    ORDER BY m.state = 'archived', m.updated_at DESC
    LIMIT 1;
    IF found_id IS NOT NULL THEN
        -- Re-checked on the newest row version once the lock is granted.
        SELECT * INTO found_row FROM metadata.sys_metadata m
        WHERE m.id = found_id AND (m.state = 'draft') = p_draft
        FOR UPDATE;
    END IF;
    RETURN found_row;
END
$fn$;

-- Every row (any state) of one layer key. Each branch matches the whole index key
-- (tenant_id, type, name, scope, owner); the parameters pick the one branch that runs.
CREATE FUNCTION metadata._layer_rows(p_type text, p_name text, p_tenant text, p_scope text,
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

-- Re-raises an error with its SQLSTATE, a new message and its detail and hint, if any.
CREATE FUNCTION metadata._reraise(sqlstate text, message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF detail IS NOT NULL AND detail <> '' AND hint IS NOT NULL AND hint <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail, HINT = hint;
    ELSIF detail IS NOT NULL AND detail <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail;
    ELSIF hint IS NOT NULL AND hint <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, HINT = hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message;
    END IF;
END
$fn$;

-- Raises 40001 serialization_failure when expected is given and differs from actual
-- (0 = the layer does not exist).
CREATE FUNCTION metadata._check_version(expected integer, actual integer, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $fn$
BEGIN
    IF expected IS NOT NULL AND expected <> coalesce(actual, 0) THEN
        RAISE EXCEPTION 'version conflict on %: expected version %, found %',
                        what, expected, coalesce(actual, 0)
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Read the layer again and retry with its current version.';
    END IF;
END
$fn$;

-- "object/account at scope platform (tenant acme)" for messages.
CREATE FUNCTION metadata._describe(p_type text, p_name text, p_scope text, p_tenant text,
                                   p_owner text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN format('%s/%s at scope %s', p_type, p_name, p_scope)
    || CASE WHEN p_tenant IS NULL THEN '' ELSE format(' of tenant %s', p_tenant) END
    || CASE WHEN p_owner IS NULL THEN '' ELSE format(' for user %s', p_owner) END;

------------------------------------------------------------------------------------------
-- Items
------------------------------------------------------------------------------------------

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
    package_version text DEFAULT NULL
) RETURNS metadata.sys_metadata
LANGUAGE plpgsql
AS $fn$
DECLARE
    k record;
    cur metadata.sys_metadata;
    new_row metadata.sys_metadata;
    is_draft boolean;
    live boolean;
    what text;
    new_checksum text;
    v_strategy text;
    v_extends text;
    v_namespace text;
    v_tags text[];
    v_source text;
    v_managed_by text;
    v_package_id text;
    v_package_version text;
    v_base text;
BEGIN
    PERFORM metadata._require_type(save.type);
    PERFORM metadata._require_name(save.name, 'name');
    PERFORM metadata._require(save.doc, 'doc');
    PERFORM metadata._require_one_of(save.on_conflict, 'on_conflict',
                                     ARRAY['update', 'error', 'skip', 'replace']);
    PERFORM metadata._require_one_of(save.state, 'state', ARRAY['active', 'draft', 'deprecated']);
    IF save.strategy IS NOT NULL THEN
        PERFORM metadata._require_one_of(save.strategy, 'strategy', ARRAY['merge', 'replace']);
    END IF;
    IF save.extends IS NOT NULL THEN
        PERFORM metadata._require_name(save.extends, 'extends');
    END IF;
    IF save.namespace IS NOT NULL THEN
        PERFORM metadata._require_name(save.namespace, 'namespace');
    END IF;
    IF jsonb_typeof(save.doc) <> 'object' THEN
        RAISE EXCEPTION 'document must be a JSON object, not %', jsonb_typeof(save.doc)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    new_checksum := metadata._document_checksum(save.doc::text);  -- size and depth limits
    SELECT * INTO k FROM metadata._layer_key(save.scope, save.owner);
    is_draft := save.state = 'draft';
    what := metadata._describe(save.type, save.name, save.scope, k.tenant_id, k.owner_id);

    LOOP
        cur := metadata._lock_layer(save.type, save.name, k.tenant_id, save.scope, k.owner_id, is_draft);
        live := cur.id IS NOT NULL AND cur.state <> 'archived';
        PERFORM metadata._check_version(save.expected_version,
                                        CASE WHEN live THEN cur.version END, what);
        IF live AND save.on_conflict = 'error' THEN
            RAISE EXCEPTION '% already exists (version %)', what, cur.version
                USING ERRCODE = 'unique_violation',
                      HINT = 'Use on_conflict => ''update'' or ''replace'' to change it.';
        ELSIF live AND save.on_conflict = 'skip' THEN
            RETURN cur;
        END IF;

        -- 'update' keeps the stored attributes that are not given; 'replace', a new row and
        -- the revival of an archived row take the call's values and the defaults.
        IF live AND save.on_conflict = 'update' THEN
            v_strategy := coalesce(save.strategy, cur.strategy);
            v_extends := coalesce(save.extends, cur.extends);
            v_namespace := coalesce(save.namespace, cur.namespace);
            v_tags := coalesce(save.tags, cur.tags);
            v_source := coalesce(save.source, cur.source);
            v_managed_by := coalesce(save.managed_by, cur.managed_by);
            v_package_id := coalesce(save.package_id, cur.package_id);
            v_package_version := coalesce(save.package_version, cur.package_version);
        ELSE
            v_strategy := coalesce(save.strategy, 'merge');
            v_extends := save.extends;
            v_namespace := coalesce(save.namespace, 'default');
            v_tags := coalesce(save.tags, '{}');
            v_source := coalesce(save.source, 'database');
            v_managed_by := coalesce(save.managed_by, 'platform');
            v_package_id := save.package_id;
            v_package_version := save.package_version;
        END IF;
        v_base := metadata._below_checksum(save.type, save.name, save.scope, k.tenant_id,
                                           k.owner_id, v_extends);

        IF cur.id IS NULL THEN
            INSERT INTO metadata.sys_metadata AS m
                (tenant_id, type, name, namespace, scope, owner, strategy, extends, metadata,
                 state, base_checksum, source, managed_by, package_id, package_version, tags)
            VALUES (k.tenant_id, save.type, save.name, v_namespace, save.scope, k.owner_id,
                    v_strategy, v_extends, save.doc, save.state, v_base, v_source,
                    v_managed_by, v_package_id, v_package_version, v_tags)
            ON CONFLICT DO NOTHING
            RETURNING * INTO new_row;
            IF new_row.id IS NULL THEN
                CONTINUE;  -- a concurrent save created the layer first: update it instead
            END IF;
        ELSE
            IF live AND cur.checksum = new_checksum AND cur.state = save.state
               AND cur.strategy = v_strategy AND cur.extends IS NOT DISTINCT FROM v_extends
               AND cur.namespace = v_namespace AND cur.tags = v_tags
               AND cur.source = v_source AND cur.managed_by = v_managed_by
               AND cur.package_id IS NOT DISTINCT FROM v_package_id
               AND cur.package_version IS NOT DISTINCT FROM v_package_version
               AND cur.base_checksum IS NOT DISTINCT FROM v_base THEN
                RETURN cur;  -- identical: nothing changes, not even the version
            END IF;
            UPDATE metadata.sys_metadata AS m
            SET metadata = save.doc, state = save.state, strategy = v_strategy,
                extends = v_extends, namespace = v_namespace, tags = v_tags,
                source = v_source, managed_by = v_managed_by, package_id = v_package_id,
                package_version = v_package_version, base_checksum = v_base
            WHERE m.id = cur.id
            RETURNING * INTO new_row;
        END IF;
        EXIT;
    END LOOP;

    -- The audience of the layer must still get an effective document: this refuses
    -- extends cycles and missing parents (and rolls the write back with them).
    PERFORM metadata._effective_for(save.type, save.name, k.tenant_id, k.owner_id, is_draft);
    RETURN new_row;
END
$fn$;
COMMENT ON FUNCTION metadata.save(text, text, jsonb, text, text, text, integer, text, text, text, text, text[], text, text, text, text) IS
  'Writes one layer of (type, name) for the caller''s tenant and returns the stored row. '
  'doc: a JSON object, the whole item (strategy replace, or the bottom layer) or an RFC 7396 '
  'merge patch. scope system (global), platform (the tenant''s), user (owner, default '
  'metadata.user_id). state active, draft (a pending change, see publish) or deprecated. '
  'on_conflict: update (new document; attributes not given are kept), replace (new document '
  'and attributes, defaults for those not given), skip (return the stored row), error '
  '(23505). expected_version: the version the caller read (0 = must not exist); a mismatch '
  'raises 40001. Saving what is stored changes nothing. Errors: 22004 NULL, 22023 bad '
  'scope/state/strategy/on_conflict/owner or non-object doc, 42602 bad name, 42704 '
  'unregistered type, 54000/54001 document over 4 MiB or 100 levels, 42P19 extends cycle, '
  '23503 missing extends parent.';

CREATE FUNCTION metadata.get(type text, name text, scope text DEFAULT 'platform',
                             owner text DEFAULT NULL, state text DEFAULT 'active')
RETURNS metadata.sys_metadata
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    k record;
    found_row metadata.sys_metadata;
BEGIN
    PERFORM metadata._require(get.type, 'type');
    PERFORM metadata._require(get.name, 'name');
    PERFORM metadata._require_one_of(get.state, 'state', ARRAY['active', 'draft']);
    SELECT * INTO k FROM metadata._layer_key(get.scope, get.owner);
    SELECT * INTO found_row FROM metadata._layer_rows(get.type, get.name, k.tenant_id, get.scope, k.owner_id) m
    WHERE CASE WHEN get.state = 'draft' THEN m.state = 'draft'
               ELSE m.state IN ('active', 'deprecated') END;
    RETURN found_row;
END
$fn$;
COMMENT ON FUNCTION metadata.get(text, text, text, text, text) IS
  'One raw layer of (type, name) at scope for the caller''s tenant (owner for user scope), '
  'state active (live) or draft; NULL when there is none. Errors: 22004, 22023.';

CREATE FUNCTION metadata.delete(type text, name text, scope text DEFAULT 'platform',
                                owner text DEFAULT NULL, expected_version integer DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    k record;
    cur metadata.sys_metadata;
BEGIN
    PERFORM metadata._require_type(delete.type);
    PERFORM metadata._require(delete.name, 'name');
    SELECT * INTO k FROM metadata._layer_key(delete.scope, delete.owner);
    cur := metadata._lock_layer(delete.type, delete.name, k.tenant_id, delete.scope, k.owner_id, false);
    IF cur.id IS NULL OR cur.state = 'archived' THEN
        PERFORM metadata._check_version(delete.expected_version, NULL,
            metadata._describe(delete.type, delete.name, delete.scope, k.tenant_id, k.owner_id));
        RETURN false;
    END IF;
    PERFORM metadata._check_version(delete.expected_version, cur.version,
        metadata._describe(delete.type, delete.name, delete.scope, k.tenant_id, k.owner_id));
    UPDATE metadata.sys_metadata m SET state = 'archived' WHERE m.id = cur.id;
    RETURN true;
END
$fn$;
COMMENT ON FUNCTION metadata.delete(text, text, text, text, integer) IS
  'Archives the live layer of (type, name) at scope (state archived, version + 1; the row and '
  'its history are kept; a later save revives it). Returns false when there was none. '
  'Errors: 22004, 22023, 42704, 40001 expected_version mismatch.';

CREATE FUNCTION metadata.exists(type text, name text, scope text DEFAULT NULL,
                                owner text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    k record;
    tenant text := metadata.current_tenant();
    usr text := metadata.current_user_id();
BEGIN
    PERFORM metadata._require(exists.type, 'type');
    PERFORM metadata._require(exists.name, 'name');
    IF exists.scope IS NOT NULL THEN
        RETURN (metadata.get(exists.type, exists.name, exists.scope, exists.owner)).id IS NOT NULL;
    END IF;
    RETURN EXISTS (
        SELECT 1 FROM metadata.sys_metadata m
        WHERE m.tenant_id IS NULL AND m.type = exists.type AND m.name = exists.name
          AND m.scope IN ('system', 'platform') AND m.state IN ('active', 'deprecated')
        UNION ALL
        SELECT 1 FROM metadata.sys_metadata m
        WHERE tenant IS NULL AND m.tenant_id IS NULL AND m.type = exists.type
          AND m.name = exists.name AND m.scope = 'user' AND m.owner = usr
          AND m.state IN ('active', 'deprecated')
        UNION ALL
        SELECT 1 FROM metadata.sys_metadata m
        WHERE m.tenant_id = tenant AND m.type = exists.type AND m.name = exists.name
          AND m.scope = 'platform' AND m.state IN ('active', 'deprecated')
        UNION ALL
        SELECT 1 FROM metadata.sys_metadata m
        WHERE m.tenant_id = tenant AND m.type = exists.type AND m.name = exists.name
          AND m.scope = 'user' AND m.owner = usr AND m.state IN ('active', 'deprecated'));
END
$fn$;
COMMENT ON FUNCTION metadata.exists(text, text, text, text) IS
  'Without scope: whether (type, name) has an effective document for the caller. With scope: '
  'whether that live layer exists. Errors: 22004, 22023.';

CREATE FUNCTION metadata.publish(type text, name text, scope text DEFAULT 'platform',
                                 owner text DEFAULT NULL, expected_version integer DEFAULT NULL,
                                 force boolean DEFAULT false)
RETURNS metadata.sys_metadata
LANGUAGE plpgsql
AS $fn$
DECLARE
    k record;
    draft metadata.sys_metadata;
    cur metadata.sys_metadata;
    new_row metadata.sys_metadata;
    what text;
BEGIN
    PERFORM metadata._require_type(publish.type);
    PERFORM metadata._require(publish.name, 'name');
    SELECT * INTO k FROM metadata._layer_key(publish.scope, publish.owner);
    what := metadata._describe(publish.type, publish.name, publish.scope, k.tenant_id, k.owner_id);
    draft := metadata._lock_layer(publish.type, publish.name, k.tenant_id, publish.scope, k.owner_id, true);
    IF draft.id IS NULL THEN
        RAISE EXCEPTION 'no draft of % to publish', what USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM metadata._check_version(publish.expected_version, draft.version, 'draft of ' || what);
    cur := metadata._lock_layer(publish.type, publish.name, k.tenant_id, publish.scope, k.owner_id, false);
    -- The draft replaces the live layer: refuse to drop a change made to it since the draft
    -- was last saved (no lost update), unless forced.
    IF cur.id IS NOT NULL AND cur.state <> 'archived' AND cur.updated_at > draft.updated_at
       AND NOT coalesce(publish.force, false) THEN
        RAISE EXCEPTION 'the live layer of % changed (version %) after its draft was saved', what, cur.version
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Save the draft again over the current live layer, or publish with force => true.';
    END IF;
    IF cur.id IS NULL OR cur.state = 'archived' THEN
        UPDATE metadata.sys_metadata m SET state = 'active' WHERE m.id = draft.id
        RETURNING * INTO new_row;
    ELSE
        UPDATE metadata.sys_metadata m
        SET metadata = draft.metadata, strategy = draft.strategy, extends = draft.extends,
            namespace = draft.namespace, tags = draft.tags, source = draft.source,
            managed_by = draft.managed_by, package_id = draft.package_id,
            package_version = draft.package_version, base_checksum = draft.base_checksum,
            state = 'active'
        WHERE m.id = cur.id
        RETURNING * INTO new_row;
        DELETE FROM metadata.sys_metadata m WHERE m.id = draft.id;
    END IF;
    PERFORM metadata._effective_for(publish.type, publish.name, k.tenant_id, k.owner_id, false);
    RETURN new_row;
END
$fn$;
COMMENT ON FUNCTION metadata.publish(text, text, text, text, integer, boolean) IS
  'Promotes the draft layer of (type, name) at scope to active: the live row takes the '
  'draft''s document and attributes (version + 1) and the draft row goes; without a live row '
  'the draft row becomes it. Returns the live row. Errors: P0002 no draft, 40001 '
  'expected_version (of the draft) mismatch or live layer changed after the draft was saved '
  '(force => true publishes anyway), 42P19, 23503.';

------------------------------------------------------------------------------------------
-- Bulk
------------------------------------------------------------------------------------------

-- Saves one bulk item {type, name, metadata, scope?, owner?, strategy?, state?, extends?,
-- namespace?, tags?, expected_version?, on_conflict?, source?, managed_by?, package_id?,
-- package_version?}. Unknown keys are refused (22023).
CREATE FUNCTION metadata._save_item(item jsonb) RETURNS metadata.sys_metadata
LANGUAGE plpgsql
AS $fn$
DECLARE
    unknown text;
BEGIN
    IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'item must be a JSON object, not %', coalesce(jsonb_typeof(item), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(item) AS k
    WHERE k NOT IN ('type', 'name', 'metadata', 'scope', 'owner', 'strategy', 'state',
                    'extends', 'namespace', 'tags', 'expected_version', 'on_conflict',
                    'source', 'managed_by', 'package_id', 'package_version')
    LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown key "%" in item', left(unknown, 200)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF item ? 'tags' AND jsonb_typeof(item -> 'tags') <> 'array' THEN
        RAISE EXCEPTION 'tags must be an array of strings' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN metadata.save(
        type => item ->> 'type',
        name => item ->> 'name',
        doc => item -> 'metadata',
        scope => coalesce(item ->> 'scope', 'platform'),
        owner => item ->> 'owner',
        strategy => item ->> 'strategy',
        expected_version => (item ->> 'expected_version')::integer,
        on_conflict => coalesce(item ->> 'on_conflict', 'update'),
        state => coalesce(item ->> 'state', 'active'),
        extends => item ->> 'extends',
        namespace => item ->> 'namespace',
        tags => CASE WHEN item ? 'tags'
                     THEN ARRAY(SELECT jsonb_array_elements_text(item -> 'tags')) END,
        source => item ->> 'source',
        managed_by => item ->> 'managed_by',
        package_id => item ->> 'package_id',
        package_version => item ->> 'package_version');
END
$fn$;

CREATE FUNCTION metadata.bulk_save(items jsonb, continue_on_error boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    item jsonb;
    i integer := -1;
    ok integer := 0;
    errors jsonb := '[]';
    err_state text;
    err_message text;
    err_detail text;
    err_hint text;
BEGIN
    PERFORM metadata._require(items, 'items');
    IF jsonb_typeof(items) <> 'array' THEN
        RAISE EXCEPTION 'items must be a JSON array of items, not %', jsonb_typeof(items)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT coalesce(continue_on_error, false) THEN
        -- All or nothing: the first failure aborts with its SQLSTATE, naming the item.
        BEGIN
            FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
                i := i + 1;
                PERFORM metadata._save_item(item);
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
            PERFORM metadata._reraise(err_state,
                format('bulk_save item /%s%s: %s', i,
                       CASE WHEN jsonb_typeof(item) = 'object'
                            THEN format(' (%s/%s)', item ->> 'type', item ->> 'name') ELSE '' END,
                       err_message),
                err_detail, err_hint);
        END;
        RETURN jsonb_build_object('total', i + 1, 'succeeded', i + 1, 'failed', 0, 'errors', errors);
    END IF;
    FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
        i := i + 1;
        BEGIN
            PERFORM metadata._save_item(item);
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_detail = PG_EXCEPTION_DETAIL;
            errors := errors || jsonb_build_object(
                'index', i, 'pointer', '/' || i, 'type', item ->> 'type', 'name', item ->> 'name',
                'sqlstate', err_state, 'message', err_message, 'detail', nullif(err_detail, ''));
        END;
    END LOOP;
    RETURN jsonb_build_object('total', i + 1, 'succeeded', ok, 'failed', i + 1 - ok,
                              'errors', errors);
END
$fn$;
COMMENT ON FUNCTION metadata.bulk_save(jsonb, boolean) IS
  'Saves a JSON array of items {type, name, metadata, scope?, owner?, strategy?, state?, '
  'extends?, namespace?, tags?, expected_version?, on_conflict?, source?, managed_by?, '
  'package_id?, package_version?} (the items of a bundle) and returns {total, succeeded, '
  'failed, errors[]}. Without continue_on_error it is all or nothing: the first failure '
  'raises its own SQLSTATE, the message naming the item as /index. With it, each item is '
  'saved on its own and failures are listed as {index, pointer, type, name, sqlstate, '
  'message, detail}.';
