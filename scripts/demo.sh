#!/usr/bin/env bash
# scripts/demo.sh [BUNDLE]: the project's main job, a demo of layered metadata.
#
# On a fresh Debian 12 machine with a Rust toolchain: installs what is needed
# (scripts/setup.sh), builds and installs the extension, starts a throwaway PostgreSQL 15
# cluster, loads BUNDLE (default examples/crm/bundle.json, an ObjectStack-style CRM) as the
# `system` scope, applies tenant and user overlays, and prints how the layers resolve:
# item counts, effective documents per context, explain, a stale overlay after a package
# upgrade, a draft with preview and publish, JSON Schema validation (invalid documents of
# the bundle, a refused overlay, a locked path), history, diff, rollback and the change
# feed, tenant isolation by row level security, and bad input rejected with its SQLSTATE.
#
# Overlays: examples/crm/overlays.json for the default bundle; for any other bundle they
# are generated in SQL from the bundle itself. METADATA_DEMO_OVERLAYS=FILE overrides both
# (a JSON array of {tenant_id, user_id, items: [bulk_save items]}).
# METADATA_DEMO_PORT: port of the throwaway cluster (default 54329; it listens on a
# private socket directory only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_BUNDLE=$ROOT/examples/crm/bundle.json
BUNDLE=${1:-$DEFAULT_BUNDLE}
if [ ! -f "$BUNDLE" ] || [ ! -r "$BUNDLE" ]; then
  echo "demo: cannot read bundle file '$BUNDLE'" >&2
  exit 2
fi
BUNDLE=$(realpath "$BUNDLE")
OVERLAYS=${METADATA_DEMO_OVERLAYS:-}
if [ -z "$OVERLAYS" ] && [ "$BUNDLE" = "$(realpath "$DEFAULT_BUNDLE")" ]; then
  OVERLAYS=$ROOT/examples/crm/overlays.json
fi
if [ -n "$OVERLAYS" ]; then
  if [ ! -f "$OVERLAYS" ] || [ ! -r "$OVERLAYS" ]; then
    echo "demo: cannot read overlays file '$OVERLAYS'" >&2
    exit 2
  fi
  OVERLAYS=$(realpath "$OVERLAYS")
fi
PORT=${METADATA_DEMO_PORT:-54329}

DIR=$(mktemp -d /tmp/metadata-demo.XXXXXX)
chmod 755 "$DIR"
cleanup() { cluster_stop "$DIR"; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== setup: Debian packages and cargo-pgrx (scripts/setup.sh), then build and install the extension"
bash "$ROOT/scripts/setup.sh"
echo "   cargo pgrx install --release (the first build takes a few minutes; later ones are cached)"
if ! install_extension 2>"$DIR/build.log"; then
  cat "$DIR/build.log" >&2
  echo "demo: building or installing the extension failed" >&2
  exit 1
fi
cluster_start "$DIR" "$PORT"
echo "   throwaway cluster on port $PORT, socket directory $DIR"

# psql for every section: no psqlrc, quiet, stop at the first error, no "(N rows)" footers.
q() { psql -X -q -v ON_ERROR_STOP=1 -P footer=off -P null='—' "$@"; }

q <<'SQL'
CREATE EXTENSION metadata;
-- Helpers of the demo only (schema demo); everything they do goes through the metadata API.
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
CREATE FUNCTION demo.try(stmt text, OUT code text, OUT message text)
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE stmt;
  code := '00000';
  message := '(accepted)';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
END
$fn$;
SQL

echo
echo "== load the bundle as scope system: $BUNDLE"
# The file goes through a psql variable (\set ... `cat`), never through the command line.
DEMO_BUNDLE_FILE=$BUNDLE q <<'SQL'
\set bundle `cat "$DEMO_BUNDLE_FILE"`
CREATE TEMP TABLE input AS SELECT :'bundle'::jsonb AS doc;
\unset bundle
DO $do$
BEGIN
  IF (SELECT doc ->> 'format' FROM input) IS DISTINCT FROM 'objectstack-metadata-bundle'
     OR (SELECT jsonb_typeof(doc -> 'items') FROM input) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'not a metadata bundle: expected {"format": "objectstack-metadata-bundle", "items": [...]}';
  END IF;
END
$do$;
\pset format unaligned
\pset tuples_only on
SELECT format('bundle %s: %s items', coalesce(doc ->> 'source', '?'),
              jsonb_array_length(doc -> 'items')) FROM input;
\pset format aligned
\pset tuples_only off
-- Every type validates its effective documents against a JSON Schema (strict: refused).
-- Documents that break their type's schema would refuse this all-or-nothing load; the demo
-- shows them and switches their types to lenient (a WARNING instead of an ERROR).
\echo 'documents that break the JSON Schema of their type (metadata.validate):'
SELECT item ->> 'type' AS type, count(*) AS invalid,
       min(metadata.validate(item ->> 'type', item -> 'metadata') -> 0 ->> 'instance_path') AS "a pointer",
       min(metadata.validate(item ->> 'type', item -> 'metadata') -> 0 ->> 'keyword') AS keyword
FROM input, jsonb_array_elements(doc -> 'items') AS item
WHERE NOT metadata.is_valid(item ->> 'type', item -> 'metadata')
GROUP BY 1 ORDER BY 1;
SELECT r.name AS "switched to lenient"
FROM (SELECT DISTINCT item ->> 'type' AS type FROM input, jsonb_array_elements(doc -> 'items') AS item
      WHERE NOT metadata.is_valid(item ->> 'type', item -> 'metadata')) AS t,
     metadata.register_type(t.type, validation_mode => 'lenient') AS r;
SET client_min_messages = error;
\pset format unaligned
\pset tuples_only on
-- Each item {type, name, metadata} becomes a system row shipped by the bundle's package.
SELECT 'metadata.bulk_save: ' || metadata.bulk_save(jsonb_agg(
         item || jsonb_build_object('scope', 'system', 'source', 'filesystem',
                                    'managed_by', 'package',
                                    'package_id', coalesce(doc ->> 'source', 'bundle'),
                                    'package_version', '1.0.0')
         ORDER BY n))::text
FROM input, jsonb_array_elements(doc -> 'items') WITH ORDINALITY AS x(item, n);
SQL

echo
if [ -n "$OVERLAYS" ]; then
  echo "== apply overlays from $OVERLAYS"
  DEMO_OVERLAYS_FILE=$OVERLAYS q <<'SQL'
\set overlays `cat "$DEMO_OVERLAYS_FILE"`
INSERT INTO demo.overlays SELECT :'overlays'::jsonb;
\unset overlays
SQL
else
  echo "== apply overlays generated from the bundle (demo.generate_overlays, jsonb functions)"
  DEMO_BUNDLE_FILE=$BUNDLE q <<'SQL'
\set bundle `cat "$DEMO_BUNDLE_FILE"`
INSERT INTO demo.overlays SELECT demo.generate_overlays(:'bundle'::jsonb);
\unset bundle
SQL
fi
q <<'SQL'
\echo 'one all-or-nothing metadata.bulk_save per group, run with SET metadata.tenant_id / metadata.user_id'
SELECT coalesce(tenant_id, '(global)') AS tenant_id, coalesce(user_id, '') AS user_id,
       items AS "scope type/name", result
FROM demo.apply_overlays((SELECT doc FROM demo.overlays));
SQL

# The items the rest of the demo looks at: the object and the list view with the most
# overlays, and a view that extends another one (if any).
OBJ=$(q -At <<'SQL'
SELECT name FROM metadata.sys_metadata WHERE type = 'object'
GROUP BY name ORDER BY count(*) FILTER (WHERE scope <> 'system') DESC, name LIMIT 1;
SQL
)
VIEW=$(q -At <<'SQL'
SELECT name FROM metadata.sys_metadata WHERE type = 'view'
GROUP BY name HAVING bool_or(scope = 'system')
ORDER BY count(*) FILTER (WHERE scope <> 'system') DESC, name LIMIT 1;
SQL
)
XVIEW=$(q -At <<'SQL'
SELECT name FROM metadata.sys_metadata WHERE type = 'view' AND extends IS NOT NULL
ORDER BY name LIMIT 1;
SQL
)
if [ -z "$OBJ" ]; then
  echo "demo: the bundle has no object to show" >&2
  exit 1
fi
vars=(-v obj="$OBJ" -v view="$VIEW" -v xview="$XVIEW"
      -v have_xview="$([ -n "$XVIEW" ] && echo true || echo false)")

echo
echo "== items per type: stored rows per scope, and effective documents per context"
q "${vars[@]}" <<'SQL'
SELECT m.type,
       count(*) FILTER (WHERE m.scope = 'system') AS system,
       count(*) FILTER (WHERE m.scope = 'platform') AS platform,
       count(*) FILTER (WHERE m.scope = 'user') AS "user",
       demo.count_as(NULL, NULL, m.type) AS "effective: global",
       demo.count_as('acme', 'u42', m.type) AS "acme + u42",
       demo.count_as('globex', NULL, m.type) AS globex
FROM metadata.sys_metadata m
WHERE m.state IN ('active', 'deprecated')
GROUP BY m.type ORDER BY m.type;
SQL

echo
echo "== labels of every customised item, as each context sees them (metadata.effective)"
q "${vars[@]}" <<'SQL'
SELECT i.type, i.name,
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 1) AS global,
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 2) AS acme,
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 3) AS "acme + u42",
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 4) AS globex
FROM (SELECT DISTINCT type, name FROM metadata.sys_metadata WHERE scope <> 'system') AS i
CROSS JOIN demo.contexts AS c
CROSS JOIN LATERAL (SELECT demo.effective_as(c.tenant, c.usr, i.type, i.name)) AS e(doc)
GROUP BY i.type, i.name ORDER BY i.type, i.name;
SQL

echo
echo "== effective object '$OBJ' per context (the fields the overlays touch)"
q "${vars[@]}" <<'SQL'
SELECT c.context, e.doc ->> 'label' AS label,
       (SELECT count(*) FROM jsonb_object_keys(CASE WHEN jsonb_typeof(e.doc -> 'fields') = 'object'
                                                    THEN e.doc -> 'fields' ELSE '{}' END)) AS fields,
       demo.field_lines(e.doc, demo.touched_fields('object', :'obj')) AS "touched fields"
FROM demo.contexts AS c
CROSS JOIN LATERAL (SELECT demo.effective_as(c.tenant, c.usr, 'object', :'obj')) AS e(doc)
ORDER BY c.ord;
\echo
\set hdr '-- SET metadata.tenant_id = ''acme''; SET metadata.user_id = ''u42''; metadata.effective(''object'', ''' :obj '''), trimmed:'
\echo :hdr
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
\pset format unaligned
\pset tuples_only on
SELECT jsonb_pretty(demo.trimmed(metadata.effective('object', :'obj'),
                                 demo.touched_fields('object', :'obj')));
SQL

if [ -n "$VIEW" ]; then
  echo
  echo "== effective list views per context (a missing view shows as —)"
  q "${vars[@]}" <<'SQL'
SELECT v.name AS view, c.context, e.doc ->> 'label' AS label, demo.columns(e.doc) AS columns,
       demo.sort(e.doc) AS sort, e.doc ->> 'pageSize' AS "pageSize"
FROM (VALUES (1, :'view'), (2, nullif(:'xview', ''))) AS v(ord, name)
CROSS JOIN demo.contexts AS c
CROSS JOIN LATERAL (SELECT demo.effective_as(c.tenant, c.usr, 'view', v.name)) AS e(doc)
WHERE v.name IS NOT NULL
ORDER BY v.ord, c.ord;
SQL
fi

echo
echo "== metadata.explain: the layers behind an effective document, bottom first"
q "${vars[@]}" <<'SQL'
\set explain_cols 'ordinal, item, scope, tenant_id, owner, strategy, version, extends, left(checksum, 15) || ''…'' AS checksum, left(base_checksum, 15) || ''…'' AS base_checksum, stale'
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
\set hdr '-- as acme + u42: explain(''object'', ''' :obj ''')'
\echo :hdr
SELECT :explain_cols FROM metadata.explain('object', :'obj');
\if :have_xview
\set hdr '-- as acme + u42: explain(''view'', ''' :xview '''): the layers of its extends parent come first'
\echo :hdr
SELECT :explain_cols FROM metadata.explain('view', :'xview');
\endif
SET metadata.tenant_id = 'globex';
RESET metadata.user_id;
SELECT EXISTS (SELECT FROM metadata.sys_metadata WHERE tenant_id = 'globex' AND strategy = 'replace') AS have_replace \gset
\if :have_replace
SELECT type AS replace_type, name AS replace_name FROM metadata.sys_metadata
WHERE tenant_id = 'globex' AND strategy = 'replace' ORDER BY type, name LIMIT 1 \gset
\set hdr '-- as globex: explain(''' :replace_type ''', ''' :replace_name '''): a replace layer discards what is below it'
\echo :hdr
SELECT :explain_cols FROM metadata.explain(:'replace_type', :'replace_name');
\pset format unaligned
\pset tuples_only on
SELECT format('   system %s: %s; globex sees: %s', :'replace_name',
              demo.size(demo.effective_as(NULL, NULL, :'replace_type', :'replace_name')),
              demo.size(metadata.effective(:'replace_type', :'replace_name')));
\endif
SQL

echo
echo "== a stale overlay: the package ships a new base of object '$OBJ'"
q "${vars[@]}" <<'SQL'
\echo '-- as the package (no tenant): re-save the system row with a new field and description'
SELECT version, left(checksum, 15) || '…' AS checksum, package_version
FROM metadata.save('object', :'obj',
       jsonb_set((metadata.get('object', :'obj', 'system')).metadata,
                 '{fields,last_reviewed}', '{"type": "date", "label": "Last Reviewed"}')
       || '{"description": "Upgraded base shipped by package version 1.1.0"}',
       scope => 'system', package_version => '1.1.0');
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
\echo '-- as acme + u42: the overlays were written over the old base, so explain flags them stale'
SELECT ordinal, scope, tenant_id, owner, version, left(checksum, 15) || '…' AS checksum,
       left(base_checksum, 15) || '…' AS base_checksum, stale
FROM metadata.explain('object', :'obj');
\echo '-- ... and they still apply: overlay labels and the new base field side by side'
SELECT e.doc ->> 'label' AS label, e.doc ->> 'description' AS description,
       demo.field_lines(e.doc, demo.touched_fields('object', :'obj') || '{last_reviewed}') AS fields
FROM (SELECT metadata.effective('object', :'obj')) AS e(doc);
SQL

echo
echo "== a draft and its preview: tenant acme stages a new label for '$OBJ', then publishes it"
q "${vars[@]}" <<'SQL'
SET metadata.tenant_id = 'acme';
\echo '-- save(..., state => ''draft''): the draft is the whole new platform layer (the live one plus the change)'
SELECT scope, tenant_id, state, version, metadata ->> 'label' AS "draft label"
FROM metadata.save('object', :'obj',
       (metadata.get('object', :'obj', 'platform')).metadata
       || jsonb_build_object('label', (metadata.get('object', :'obj', 'platform')).metadata ->> 'label' || ' (v2)'),
       state => 'draft');
SELECT metadata.effective('object', :'obj') ->> 'label' AS "effective(...)",
       metadata.effective('object', :'obj', preview => true) ->> 'label' AS "effective(..., preview => true)",
       demo.effective_as('acme', 'u42', 'object', :'obj') ->> 'label' AS "u42 sees (no preview)";
\set hdr '-- publish(''object'', ''' :obj '''): the live platform row takes the draft'
\echo :hdr
SELECT scope, tenant_id, state, version, metadata ->> 'label' AS label
FROM metadata.publish('object', :'obj');
SELECT metadata.effective('object', :'obj') ->> 'label' AS "effective(...) now",
       demo.effective_as('acme', 'u42', 'object', :'obj') ->> 'label' AS "u42 sees now",
       (metadata.get('object', :'obj', 'platform', state => 'draft')).id IS NULL AS "draft gone";
SET metadata.user_id = 'u42';
\echo '-- explain as acme + u42 after publish: the platform layer was rewritten over the new base'
SELECT ordinal, scope, tenant_id, owner, version, left(base_checksum, 15) || '…' AS base_checksum, stale
FROM metadata.explain('object', :'obj');
SQL

echo
echo "== history and change events: every change is versioned, announced and kept in a feed"
q "${vars[@]}" <<'SQL'
SET metadata.tenant_id = 'acme';
\echo '-- metadata.history of the item as tenant acme sees it (newest first):'
SELECT id, op, scope, tenant_id, state, version, changed_by, left(checksum, 15) || '…' AS checksum, note
FROM metadata.history('object', :'obj') LIMIT 6;
\echo '-- metadata.diff between the first and the current version of the acme layer (RFC 6902):'
SELECT jsonb_array_elements(metadata.diff('object', :'obj', 1,
         (metadata.get('object', :'obj')).version)) AS "JSON Patch operation";
\echo '-- rollback to version 1 writes a new version equal to it (op revert), announced on LISTEN metadata_changes:'
LISTEN metadata_changes;
SELECT version, metadata ->> 'label' AS label
FROM metadata.rollback('object', :'obj', 1, 'demo: back to the first customisation');
\echo '-- the durable change feed (what a client that was offline reads): the last 5 changes'
SELECT seq, op, tenant_id, type, name, scope, version
FROM (SELECT * FROM metadata.changes_since(0, 10000) ORDER BY seq DESC LIMIT 5) AS c ORDER BY seq;
SQL

echo
echo "== validation: every type has a JSON Schema; writes are checked against the effective document"
q "${vars[@]}" <<'SQL'
\echo '-- metadata.validate of a broken copy of the object (fields given as an array, a bad name):'
SELECT e ->> 'instance_path' AS instance_path, e ->> 'keyword' AS keyword, e ->> 'message' AS message
FROM jsonb_array_elements(metadata.validate('object',
       metadata.effective('object', :'obj') || '{"name": "Not A Machine Name", "fields": []}')) AS e;
\echo '-- a tenant overlay that would break the effective document is refused (strict, SQLSTATE 23514):'
SET metadata.tenant_id = 'acme';
SELECT r.code AS sqlstate, r.message
FROM demo.try(format('SELECT metadata.save(%L, %L, %L)', 'object', :'obj',
                     '{"fields": {"broken": {"label": "no type"}}}')) AS r;
\echo '-- a type locks a JSON Pointer: overlays may not change it'
SELECT name, locked_paths FROM metadata.register_type('object', locked_paths => '{/name}');
SELECT r.code AS sqlstate, r.message
FROM demo.try(format('SELECT metadata.save(%L, %L, %L)', 'object', :'obj', '{"name": "renamed"}')) AS r;
SQL

echo
echo "== tenant isolation: row level security, enforced by the database for an application role"
q "${vars[@]}" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_app') THEN
    CREATE ROLE demo_app NOLOGIN IN ROLE metadata_editor;
  END IF;
END $$;
GRANT USAGE ON SCHEMA demo TO demo_app;
SET ROLE demo_app;
SET metadata.tenant_id = 'globex';
\echo '-- as demo_app (metadata_editor) for tenant globex: acme''s rows are invisible, forged writes refused'
SELECT (SELECT count(*) FROM metadata.sys_metadata WHERE tenant_id = 'acme') AS "acme rows visible",
       (SELECT count(*) FROM metadata.sys_metadata_history WHERE tenant_id = 'acme') AS "acme history visible",
       metadata.effective('object', :'obj') ->> 'label' AS "globex sees";
SELECT r.code AS sqlstate, r.message, t.stmt AS "statement"
FROM (VALUES
  (1, $$INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata) VALUES ('acme', 'object', 'forged', '{}')$$),
  (2, $$SELECT metadata.save('object', 'account', '{"label": "pwned"}', scope => 'system')$$)
) AS t(n, stmt)
CROSS JOIN LATERAL demo.try(t.stmt) AS r
ORDER BY t.n;
WITH u AS (UPDATE metadata.sys_metadata SET metadata = '{}' WHERE tenant_id = 'acme' RETURNING 1)
SELECT count(*) AS "acme rows an UPDATE by globex reaches" FROM u;
RESET ROLE;
SQL

echo
echo "== bad input is rejected with a SQLSTATE, and nothing is half-written"
q "${vars[@]}" <<'SQL'
SELECT r.code AS sqlstate, r.message, t.stmt AS "statement"
FROM (VALUES
  (1, $$SELECT metadata.save('object', 'o''brien', '{"label": "x"}')$$),
  (2, $$SELECT metadata.save('object', 'widget', '[1, 2, 3]')$$),
  (3, $$SELECT metadata.save('gizmo', 'thing', '{}')$$),
  (4, $$SELECT metadata.save('view', 'my_view', '{}', scope => 'user')  -- no metadata.user_id$$),
  (5, $$SELECT metadata.bulk_save('[{"type":"object","name":"fine","metadata":{"name":"fine","fields":{}}}, {"type":"object","name":"not fine","metadata":{}}]')$$)
) AS t(n, stmt)
CROSS JOIN LATERAL demo.try(t.stmt) AS r
ORDER BY t.n;
SELECT metadata.exists('object', 'fine') AS "bulk item 0 ('fine') was saved",
       (SELECT count(*) FROM metadata.sys_metadata WHERE name IN ('widget', 'thing', 'my_view', 'fine')) AS "rows from the bad calls";
\echo '-- the same error as a client sees it (\\set VERBOSITY verbose):'
\set VERBOSITY verbose
\set ON_ERROR_STOP 0
SELECT metadata.save('object', 'o''brien', '{"label": "x"}');
\set ON_ERROR_STOP 1
SQL

echo
echo "== done (the throwaway cluster is removed on exit)"
