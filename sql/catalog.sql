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
