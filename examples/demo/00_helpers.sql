-- Demo section: the extension and the demo's helpers (schema demo; everything they do
-- goes through the metadata API).
\echo '== setup: CREATE EXTENSION metadata, and the demo''s helpers'
CREATE EXTENSION metadata;
CREATE SCHEMA demo;

-- The contexts the demo reads as.
CREATE TABLE demo.contexts (ord int, context text, tenant text, usr text);
INSERT INTO demo.contexts VALUES
  (1, 'global', NULL, NULL), (2, 'acme', 'acme', NULL),
  (3, 'acme + u42', 'acme', 'u42'), (4, 'globex', 'globex', NULL);

-- The overlays applied (from a file or generated from the bundle).
CREATE TABLE demo.overlays (doc jsonb NOT NULL);

-- Runs f as (tenant, usr): what `SET metadata.tenant_id = ...; SET metadata.user_id = ...`
-- does for an application; the previous settings come back afterwards.
CREATE FUNCTION demo.effective_as(tenant text, usr text, type text, name text,
                                  preview boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  old_t text := current_setting('metadata.tenant_id', true);
  old_u text := current_setting('metadata.user_id', true);
  r jsonb;
BEGIN
  PERFORM set_config('metadata.tenant_id', coalesce(tenant, ''), true);
  PERFORM set_config('metadata.user_id', coalesce(usr, ''), true);
  r := metadata.effective(type, name, preview);
  PERFORM set_config('metadata.tenant_id', coalesce(old_t, ''), true);
  PERFORM set_config('metadata.user_id', coalesce(old_u, ''), true);
  RETURN r;
END
$fn$;

CREATE FUNCTION demo.count_as(tenant text, usr text, type text) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  old_t text := current_setting('metadata.tenant_id', true);
  old_u text := current_setting('metadata.user_id', true);
  n bigint;
BEGIN
  PERFORM set_config('metadata.tenant_id', coalesce(tenant, ''), true);
  PERFORM set_config('metadata.user_id', coalesce(usr, ''), true);
  SELECT count(*) INTO n FROM metadata.effective_all(type);
  PERFORM set_config('metadata.tenant_id', coalesce(old_t, ''), true);
  PERFORM set_config('metadata.user_id', coalesce(old_u, ''), true);
  RETURN n;
END
$fn$;

-- Applies a list of overlay groups {tenant_id, user_id, items}: each group is one
-- all-or-nothing metadata.bulk_save in the group's context.
CREATE FUNCTION demo.apply_overlays(groups jsonb)
RETURNS TABLE (tenant_id text, user_id text, items text, result jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  g jsonb;
BEGIN
  IF jsonb_typeof(groups) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'overlays must be a JSON array of {tenant_id, user_id, items}'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR g IN SELECT value FROM jsonb_array_elements(groups) LOOP
    PERFORM set_config('metadata.tenant_id', coalesce(g ->> 'tenant_id', ''), true);
    PERFORM set_config('metadata.user_id', coalesce(g ->> 'user_id', ''), true);
    tenant_id := g ->> 'tenant_id';
    user_id := g ->> 'user_id';
    SELECT string_agg(format('%s %s/%s%s', coalesce(i ->> 'scope', 'platform'), i ->> 'type',
                             i ->> 'name',
                             CASE WHEN i ? 'strategy' THEN ' (' || (i ->> 'strategy') || ')' ELSE '' END
                             || CASE WHEN i ? 'extends' THEN ' extends ' || (i ->> 'extends') ELSE '' END),
                      E'\n' ORDER BY n)
      INTO items FROM jsonb_array_elements(g -> 'items') WITH ORDINALITY AS x(i, n);
    result := metadata.bulk_save(g -> 'items') - 'errors';
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('metadata.tenant_id', '', true);
  PERFORM set_config('metadata.user_id', '', true);
END
$fn$;

-- Overlays for a bundle that has none of its own, built from its documents with jsonb
-- functions: the first object gets a platform overlay for tenant acme (relabel, a new
-- field, one field deleted with null), one for tenant globex (relabel, a field made
-- required) and a user overlay for acme user u42 (a personal field label); the second
-- object gets an acme relabel and a globex `replace` (a slim copy with 3 fields); the
-- first view on the first object (or the first view) gets a u42 sort/pageSize tweak and
-- an acme view that extends it.
CREATE FUNCTION demo.generate_overlays(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  o1 jsonb; o2 jsonb; v jsonb;
  f1 jsonb; f_label text; f_drop text; f_req text; first_col text;
  acme jsonb := '[]'; globex jsonb := '[]'; u42 jsonb := '[]';
BEGIN
  SELECT i INTO o1 FROM jsonb_array_elements(bundle -> 'items') WITH ORDINALITY AS x(i, n)
  WHERE i ->> 'type' = 'object' ORDER BY n LIMIT 1;
  SELECT i INTO o2 FROM jsonb_array_elements(bundle -> 'items') WITH ORDINALITY AS x(i, n)
  WHERE i ->> 'type' = 'object' ORDER BY n OFFSET 1 LIMIT 1;
  IF o1 IS NULL THEN
    RAISE EXCEPTION 'the bundle has no item of type object to customise'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  f1 := CASE WHEN jsonb_typeof(o1 #> '{metadata,fields}') = 'object'
             THEN o1 #> '{metadata,fields}' ELSE '{}' END;
  -- the field u42 relabels: "name" when there is one, else the first key
  SELECT k INTO f_label FROM jsonb_object_keys(f1) AS k ORDER BY k <> 'name', k LIMIT 1;
  -- the field acme deletes: the last optional one (by name)
  SELECT k INTO f_drop FROM jsonb_each(f1) AS e(k, f)
  WHERE k IS DISTINCT FROM f_label AND NOT coalesce((f ->> 'required')::boolean, false)
  ORDER BY k DESC LIMIT 1;
  -- the field globex makes required: the first optional one left
  SELECT k INTO f_req FROM jsonb_each(f1) AS e(k, f)
  WHERE k IS DISTINCT FROM f_label AND k IS DISTINCT FROM f_drop
    AND NOT coalesce((f ->> 'required')::boolean, false)
  ORDER BY k LIMIT 1;

  acme := acme || jsonb_build_object(
    'type', 'object', 'name', o1 ->> 'name', 'scope', 'platform',
    'metadata', jsonb_build_object(
      'label', coalesce(o1 #>> '{metadata,label}', o1 ->> 'name') || ' (Acme)',
      'fields', jsonb_strip_nulls(jsonb_build_object('acme_region', jsonb_build_object(
                  'type', 'select', 'label', 'Acme Region',
                  'options', jsonb_build_array(
                    jsonb_build_object('label', 'EMEA', 'value', 'emea'),
                    jsonb_build_object('label', 'Americas', 'value', 'americas'),
                    jsonb_build_object('label', 'APAC', 'value', 'apac')))))
                || CASE WHEN f_drop IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object(f_drop, NULL) END));
  globex := globex || jsonb_build_object(
    'type', 'object', 'name', o1 ->> 'name', 'scope', 'platform',
    'metadata', jsonb_build_object(
      'label', coalesce(o1 #>> '{metadata,label}', o1 ->> 'name') || ' (Globex)',
      'fields', CASE WHEN f_req IS NULL THEN '{}'::jsonb
                     ELSE jsonb_build_object(f_req, jsonb_build_object('required', true)) END));
  IF f_label IS NOT NULL THEN
    u42 := u42 || jsonb_build_object(
      'type', 'object', 'name', o1 ->> 'name', 'scope', 'user', 'owner', 'u42',
      'metadata', jsonb_build_object('fields', jsonb_build_object(f_label, jsonb_build_object(
        'label', 'My ' || coalesce(f1 -> f_label ->> 'label', f_label)))));
  END IF;

  IF o2 IS NOT NULL THEN
    acme := acme || jsonb_build_object(
      'type', 'object', 'name', o2 ->> 'name', 'scope', 'platform',
      'metadata', jsonb_build_object(
        'label', coalesce(o2 #>> '{metadata,label}', o2 ->> 'name') || ' (Acme)'));
    globex := globex || jsonb_build_object(
      'type', 'object', 'name', o2 ->> 'name', 'scope', 'platform', 'strategy', 'replace',
      'metadata', jsonb_build_object(
        'name', o2 ->> 'name',
        'label', coalesce(o2 #>> '{metadata,label}', o2 ->> 'name') || ' (Globex, slim)',
        'fields', coalesce((SELECT jsonb_object_agg(k, f) FROM (
                     SELECT k, f FROM jsonb_each(CASE WHEN jsonb_typeof(o2 #> '{metadata,fields}') = 'object'
                                                     THEN o2 #> '{metadata,fields}' ELSE '{}' END) AS e(k, f)
                     ORDER BY k LIMIT 3) AS slim), '{}')));
  END IF;

  SELECT i INTO v FROM jsonb_array_elements(bundle -> 'items') WITH ORDINALITY AS x(i, n)
  WHERE i ->> 'type' = 'view'
  ORDER BY (i #>> '{metadata,object}') IS DISTINCT FROM (o1 ->> 'name'), n LIMIT 1;
  IF v IS NOT NULL THEN
    SELECT coalesce(c ->> 'field', c #>> '{}') INTO first_col
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v #> '{metadata,columns}') = 'array'
                                   THEN v #> '{metadata,columns}' ELSE '[]' END) AS c LIMIT 1;
    u42 := u42 || jsonb_build_object(
      'type', 'view', 'name', v ->> 'name', 'scope', 'user', 'owner', 'u42',
      'metadata', jsonb_build_object('pageSize', 50)
                  || CASE WHEN first_col IS NULL THEN '{}'::jsonb
                          ELSE jsonb_build_object('sort', jsonb_build_array(jsonb_build_object(
                                 'field', first_col, 'direction', 'desc'))) END);
    acme := acme || jsonb_build_object(
      'type', 'view', 'name', left('acme_' || (v ->> 'name'), 128), 'scope', 'platform',
      'extends', v ->> 'name',
      'metadata', jsonb_build_object(
        'name', left('acme_' || (v ->> 'name'), 128),
        'label', 'Acme: ' || coalesce(v #>> '{metadata,label}', v ->> 'name'),
        'pageSize', 10));
  END IF;

  RETURN jsonb_build_array(
    jsonb_build_object('tenant_id', 'acme', 'user_id', NULL, 'items', acme),
    jsonb_build_object('tenant_id', 'globex', 'user_id', NULL, 'items', globex),
    jsonb_build_object('tenant_id', 'acme', 'user_id', 'u42', 'items', u42));
END
$fn$;

-- Keys of `fields` that any overlay of (type, name) writes (the ones worth showing).
CREATE FUNCTION demo.touched_fields(type text, name text) RETURNS text[]
LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}')
  FROM metadata.sys_metadata m, jsonb_object_keys(
         CASE WHEN jsonb_typeof(m.metadata -> 'fields') = 'object' THEN m.metadata -> 'fields'
              ELSE '{}' END) AS k
  WHERE m.type = touched_fields.type AND m.name = touched_fields.name AND m.scope <> 'system'
    AND m.state IN ('active', 'deprecated');
$fn$;

-- One line per field: "key: label [type, required]", or "key: (absent)".
CREATE FUNCTION demo.field_lines(doc jsonb, keys text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT string_agg(CASE WHEN doc -> 'fields' ? k
           THEN format('%s: %s [%s%s]', k, doc -> 'fields' -> k ->> 'label',
                       doc -> 'fields' -> k ->> 'type',
                       CASE WHEN (doc -> 'fields' -> k ->> 'required')::boolean THEN ', required' ELSE '' END)
           ELSE k || ': (absent)' END, E'\n' ORDER BY k)
  FROM unnest(keys) AS k;
$fn$;

-- A field with its options list shortened to one line: "N options: a, b, c".
CREATE FUNCTION demo.short_field(f jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN jsonb_typeof(f -> 'options') = 'array' THEN
           f || jsonb_build_object('options', format('%s options: %s', jsonb_array_length(f -> 'options'),
                  (SELECT string_agg(coalesce(o ->> 'value', o #>> '{}'), ', ' ORDER BY n)
                   FROM jsonb_array_elements(f -> 'options') WITH ORDINALITY AS x(o, n))))
         ELSE f END;
$fn$;

-- The part of a document an overlay touched: name, label(s) and the given fields.
CREATE FUNCTION demo.trimmed(doc jsonb, keys text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT jsonb_strip_nulls(jsonb_build_object('name', doc -> 'name', 'label', doc -> 'label',
           'pluralLabel', doc -> 'pluralLabel', 'description', doc -> 'description'))
         || jsonb_build_object('fields (' || (SELECT count(*) FROM jsonb_object_keys(
                                  CASE WHEN jsonb_typeof(doc -> 'fields') = 'object'
                                       THEN doc -> 'fields' ELSE '{}' END)) || ' in all; the ones overlays touch, options shortened)',
              coalesce((SELECT jsonb_object_agg(k, demo.short_field(doc -> 'fields' -> k)) FROM unnest(keys) AS k
                        WHERE doc -> 'fields' ? k), '{}'));
$fn$;

-- "7 keys, 12 fields" (or columns): the size of a document at a glance.
CREATE FUNCTION demo.size(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT concat_ws(', ',
           (SELECT count(*) FROM jsonb_object_keys(doc)) || ' keys',
           CASE WHEN jsonb_typeof(doc -> 'fields') = 'object'
                THEN (SELECT count(*) FROM jsonb_object_keys(doc -> 'fields')) || ' fields' END,
           CASE WHEN jsonb_typeof(doc -> 'columns') = 'array'
                THEN jsonb_array_length(doc -> 'columns') || ' columns' END);
$fn$;

-- "name:240 industry:140 ..." for a list view's columns (strings or {field, width}).
CREATE FUNCTION demo.columns(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT string_agg(CASE jsonb_typeof(c) WHEN 'string' THEN c #>> '{}'
                    ELSE (c ->> 'field') || coalesce(':' || (c ->> 'width'), '') END, ' ' ORDER BY n)
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(doc -> 'columns') = 'array'
                                 THEN doc -> 'columns' ELSE '[]' END) WITH ORDINALITY AS x(c, n);
$fn$;

CREATE FUNCTION demo.sort(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN jsonb_typeof(doc -> 'sort') = 'array' THEN
           (SELECT string_agg(concat_ws(' ', s ->> 'field', coalesce(s ->> 'direction', s ->> 'order')), ', ' ORDER BY n)
            FROM jsonb_array_elements(doc -> 'sort') WITH ORDINALITY AS x(s, n))
         ELSE doc ->> 'sort' END;
$fn$;

-- Runs one statement (a constant of this script) and reports how it failed.
CREATE FUNCTION demo.try(stmt text, OUT code text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE stmt;
  code := '00000';
  message := '(accepted)';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
END
$fn$;
