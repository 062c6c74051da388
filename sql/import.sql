-- metadata: import of a bundle (DESIGN §4 "Catalog"), through save, all or nothing, with a
-- report per item. Part of the extension script (see src/lib.rs for the order).

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
