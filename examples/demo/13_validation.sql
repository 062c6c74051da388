-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): validation.
\ir _section.sql
\echo
\echo '== validation: every type has a JSON Schema; writes are checked against the effective document'
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
