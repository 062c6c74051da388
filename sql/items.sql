-- metadata: items: save, get, delete, exists, publish (DESIGN §4). Part of the extension script (see src/lib.rs for the order).
-- Every function here is SECURITY INVOKER: it reads and writes with the caller's rights.

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
    change_note text DEFAULT NULL
) RETURNS metadata.sys_metadata
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
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
    attempts integer := 0;
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

    -- The note goes to the history row of this write (sys_metadata_after_write).
    PERFORM set_config('metadata.change_note', coalesce(save.change_note, ''), true);
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
            PERFORM set_config('metadata.change_note', '', true);
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
                -- A concurrent save created the layer first: update it instead (once; the
                -- same conflict again would be a row this transaction cannot see).
                attempts := attempts + 1;
                IF attempts > 1 THEN
                    RAISE EXCEPTION 'concurrent creation of %', what
                        USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction.';
                END IF;
                CONTINUE;
            END IF;
        ELSE
            IF live AND cur.checksum = new_checksum AND cur.state = save.state
               AND cur.strategy = v_strategy AND cur.extends IS NOT DISTINCT FROM v_extends
               AND cur.namespace = v_namespace AND cur.tags = v_tags
               AND cur.source = v_source AND cur.managed_by = v_managed_by
               AND cur.package_id IS NOT DISTINCT FROM v_package_id
               AND cur.package_version IS NOT DISTINCT FROM v_package_version
               AND cur.base_checksum IS NOT DISTINCT FROM v_base THEN
                PERFORM set_config('metadata.change_note', '', true);
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
    PERFORM set_config('metadata.change_note', '', true);

    -- The checks of the written layer for its audience (src/pg/checks.rs): resolution
    -- (extends cycles, missing parents), overlay rules, locked paths, schema validation.
    -- An error rolls the write back.
    PERFORM metadata._check_write(save.type, save.name, save.scope, k.tenant_id, k.owner_id,
                                  v_extends, is_draft);
    RETURN new_row;
END
$fn$;
COMMENT ON FUNCTION metadata.save(text, text, jsonb, text, text, text, integer, text, text, text, text, text[], text, text, text, text, text) IS
  'Writes one layer of (type, name) for the caller''s tenant and returns the stored row. '
  'doc: a JSON object, the whole item (strategy replace, or the bottom layer) or an RFC 7396 '
  'merge patch. scope system (global), platform (the tenant''s), user (owner, default '
  'metadata.user_id). state active, draft (a pending change, see publish) or deprecated. '
  'on_conflict: update (new document; attributes not given are kept), replace (new document '
  'and attributes, defaults for those not given), skip (return the stored row), error '
  '(23505). expected_version: the version the caller read (0 = must not exist); a mismatch '
  'raises 40001. change_note goes to the history row. Saving what is stored changes nothing. Errors: 22004 NULL, 22023 bad '
  'scope/state/strategy/on_conflict/owner or non-object doc, 42602 bad name, 42704 '
  'unregistered type, 54000/54001 document over 4 MiB or 100 levels, 42P19 extends cycle, '
  '23503 missing extends parent.';

CREATE FUNCTION metadata.get(type text, name text, scope text DEFAULT 'platform',
                             owner text DEFAULT NULL, state text DEFAULT 'active')
RETURNS metadata.sys_metadata
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
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
    PERFORM set_config('metadata.change_op', 'publish', true);
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
    PERFORM set_config('metadata.change_op', '', true);
    PERFORM metadata._check_write(publish.type, publish.name, publish.scope, k.tenant_id,
                                  k.owner_id, new_row.extends, false);
    RETURN new_row;
END
$fn$;
COMMENT ON FUNCTION metadata.publish(text, text, text, text, integer, boolean) IS
  'Promotes the draft layer of (type, name) at scope to active: the live row takes the '
  'draft''s document and attributes (version + 1) and the draft row goes; without a live row '
  'the draft row becomes it. Returns the live row. Errors: P0002 no draft, 40001 '
  'expected_version (of the draft) mismatch or live layer changed after the draft was saved '
  '(force => true publishes anyway), 42P19, 23503.';
