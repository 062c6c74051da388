-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): the bundle, loaded as the system scope.
\ir _section.sql
\echo
\echo '== load the bundle as scope system:' :bundle_file
-- The file goes through a psql variable (\set ... `cat`), never through the command line.
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
-- The bundle is installed as the package crm 1.0.0: each item {type, name, metadata}
-- becomes a system row of the package (through import, dependencies first, all or nothing).
SELECT 'metadata.install_package: ' || (p -> 'counts')::text
FROM input, metadata.install_package(doc || '{"package": {"id": "crm", "version": "1.0.0"}}') AS p;
