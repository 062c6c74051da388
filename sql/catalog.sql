-- metadata: the catalog (DESIGN §4): query and export of what the caller may see. Part
-- of the extension script (see src/lib.rs for the order). SECURITY INVOKER: row level
-- security decides which rows are exported.

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
        'checksum', 'expected_checksum', 'change_note'];
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
  'expected_checksum, change_note; checksum is ignored) through save, and returns a report '
  '{written, dry_run, total, counts, items: [{index, pointer, type, name, scope, tenant_id, '
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
-- path as edges (metadata.sys_metadata_reference, src/pg/dependencies.rs).
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
