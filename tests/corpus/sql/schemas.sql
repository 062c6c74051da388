-- Validation against the shared corpus (DESIGN §4 "Validation"): the built-in structural
-- schemas accept every document of the two ObjectStack example apps and reject mutated
-- copies; ObjectStack's own 17.1.0 schemas, registered with register_schemas, give the
-- verdicts of the corpus's validation.json document by document; the HotCRM verdicts.
\set SHOW_CONTEXT never
DROP EXTENSION IF EXISTS metadata CASCADE;
CREATE EXTENSION metadata;
\getenv corpus METADATA_CORPUS
\set examples :corpus/objectstack-examples
\set showcase_file :examples/app-showcase/bundle.json
\set todo_file :examples/app-todo/bundle.json
\set hotcrm_file :corpus/hotcrm/bundle.json
\set showcase `cat :showcase_file`
\set todo `cat :todo_file`
\set hotcrm `cat :hotcrm_file`
CREATE TEMP TABLE doc AS
SELECT b.app, i ->> 'type' AS type, i ->> 'name' AS name, i -> 'metadata' AS doc
FROM (VALUES ('showcase', :'showcase'::jsonb), ('todo', :'todo'::jsonb), ('hotcrm', :'hotcrm'::jsonb)) AS b(app, bundle),
     jsonb_array_elements(b.bundle -> 'items') AS i;
SELECT app, count(*) AS documents, count(DISTINCT type) AS types FROM doc GROUP BY app ORDER BY app;

-- 1. Every document of the two example apps passes the built-in schema of its type.
SELECT app, count(*) FILTER (WHERE metadata.is_valid(type, doc)) AS pass,
       count(*) FILTER (WHERE NOT metadata.is_valid(type, doc)) AS fail
FROM doc WHERE app <> 'hotcrm' GROUP BY app ORDER BY app;
SELECT app, type, name, metadata.validate(type, doc) AS errors
FROM doc WHERE app <> 'hotcrm' AND NOT metadata.is_valid(type, doc);
-- ... and so does every field embedded in their objects, taken as a standalone field item
-- (the map key as its name), against the built-in field schema.
SELECT count(*) AS fields,
       count(*) FILTER (WHERE metadata.is_valid('field', f.value || jsonb_build_object('name', f.key))) AS valid
FROM doc, jsonb_each(doc -> 'fields') AS f WHERE app <> 'hotcrm' AND type = 'object';

-- 2. Mutated copies fail, with the pointer of the mutation. Mutants are derived from the
-- schemas themselves: every required key removed; every top-level key the schema types
-- given a value of another JSON type; every name made "Bad Name!".
CREATE TEMP TABLE schema_of AS
SELECT name AS type, schema FROM metadata.sys_metadata_type WHERE builtin;
CREATE TEMP TABLE mutant AS
SELECT 'required: ' || r.key AS mutation, d.type, d.name, d.doc - r.key AS doc, '' AS pointer
FROM doc d JOIN schema_of s USING (type), jsonb_array_elements_text(s.schema -> 'required') AS r(key)
WHERE d.app <> 'hotcrm' AND d.doc ? r.key
UNION ALL
SELECT 'type: ' || p.key, d.type, d.name,
       jsonb_set(d.doc, ARRAY[p.key], CASE WHEN p.value ->> 'type' IN ('number', 'integer', 'boolean', 'null')
                                           THEN '"x"'::jsonb ELSE '42'::jsonb END),
       '/' || p.key
FROM doc d JOIN schema_of s USING (type), jsonb_each(s.schema -> 'properties') AS p
WHERE d.app <> 'hotcrm' AND d.doc ? p.key AND jsonb_typeof(p.value -> 'type') = 'string'
UNION ALL
SELECT 'name: Bad Name!', d.type, d.name, jsonb_set(d.doc, '{name}', '"Bad Name!"'), '/name'
FROM doc d WHERE d.app <> 'hotcrm' AND d.doc ? 'name';
SELECT split_part(mutation, ':', 1) AS mutation, count(*) AS mutants,
       count(*) FILTER (WHERE NOT metadata.is_valid(type, doc)) AS rejected,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(metadata.validate(type, doc)) e
                                      WHERE e ->> 'instance_path' = pointer)) AS pointer_named
FROM mutant GROUP BY 1 ORDER BY 1;
SELECT mutation, type, name FROM mutant WHERE metadata.is_valid(type, doc) LIMIT 10;
-- Three of them in full.
SELECT jsonb_pretty(metadata.validate('object', jsonb_set(doc, '{fields}', '[]'))) FROM doc WHERE app = 'todo' AND type = 'object';
SELECT metadata.validate('view', jsonb_set(doc, '{name}', '"Bad Name!"')) -> 0 ->> 'instance_path' AS pointer
FROM doc WHERE app = 'todo' AND type = 'view' ORDER BY name LIMIT 1;
SELECT metadata.validate('flow', doc - 'name') -> 0 ->> 'keyword' AS keyword
FROM doc WHERE app = 'todo' AND type = 'flow' ORDER BY name LIMIT 1;

-- 3. HotCRM (protocol 1.1.0 era) under the built-in schemas, per type.
SELECT type, count(*) FILTER (WHERE metadata.is_valid(type, doc)) AS pass,
       count(*) FILTER (WHERE NOT metadata.is_valid(type, doc)) AS fail
FROM doc WHERE app = 'hotcrm' GROUP BY type ORDER BY type;
SELECT type, e ->> 'instance_path' AS instance_path, e ->> 'keyword' AS keyword, count(*) AS documents
FROM doc, jsonb_array_elements(metadata.validate(type, doc)) AS e
WHERE app = 'hotcrm' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- 4. ObjectStack's published 17.1.0 schemas, installed in one call: the verdicts equal
-- those of validation.json, document by document (expanded view items, with viewKind,
-- against view_item; hooks have no published schema).
\set schema_dir :examples/objectstack-schemas-17.1.0
\set official `cd :schema_dir && printf '{' && sep='' && for f in *.schema.json; do printf '%s"%s":' "$sep" "${f%.schema.json}"; cat "$f"; sep=','; done && printf '}'`
SELECT metadata.register_schemas(:'official'::jsonb, domain => 'ui');
SELECT count(*) AS official_schemas FROM metadata.sys_metadata_type WHERE schema ->> '$schema' LIKE '%2020-12%' AND schema ->> '$id' LIKE 'https://schema.objectstack.io/%';
\set showcase_verdicts_file :examples/app-showcase/validation.json
\set todo_verdicts_file :examples/app-todo/validation.json
\set showcase_verdicts `cat :showcase_verdicts_file`
\set todo_verdicts `cat :todo_verdicts_file`
CREATE TEMP TABLE expected_failure AS
SELECT v.app, split_part(r.key, ' ', 1) AS type, f ->> 'name' AS name
FROM (VALUES ('showcase', :'showcase_verdicts'::jsonb), ('todo', :'todo_verdicts'::jsonb)) AS v(app, report),
     jsonb_each(v.report -> 'json_schema' -> 'results') AS r,
     jsonb_array_elements(r.value -> 'failures') AS f
WHERE r.key NOT LIKE 'field%';
CREATE TEMP TABLE verdict AS
SELECT d.app, d.type, d.name,
       metadata.is_valid(CASE WHEN d.type = 'view' AND d.doc ? 'viewKind' THEN 'view_item' ELSE d.type END, d.doc) AS valid,
       EXISTS (SELECT 1 FROM expected_failure x WHERE (x.app, x.type, x.name) = (d.app, d.type, d.name)) AS expected_invalid
FROM doc d WHERE d.app <> 'hotcrm' AND d.type <> 'hook';
SELECT app, count(*) AS documents, count(*) FILTER (WHERE valid) AS valid,
       count(*) FILTER (WHERE valid = NOT expected_invalid) AS same_verdict
FROM verdict GROUP BY app ORDER BY app;
SELECT app, type, name, valid, expected_invalid FROM verdict WHERE valid = expected_invalid ORDER BY 1, 2, 3;
SELECT app, type, name FROM verdict WHERE NOT valid ORDER BY 1, 2, 3;
-- The embedded fields against the official field schema, as validation.json counts them.
SELECT app, count(*) AS fields, count(*) FILTER (WHERE metadata.is_valid('field', f.value)) AS valid
FROM doc, jsonb_each(doc -> 'fields') AS f WHERE app <> 'hotcrm' AND type = 'object' GROUP BY app ORDER BY app;
-- Why the dashboard of app-todo fails, with pointers (the record-style filter).
SELECT e ->> 'instance_path' AS instance_path, e ->> 'keyword' AS keyword
FROM doc, jsonb_array_elements(metadata.validate('dashboard', doc)) AS e
WHERE app = 'todo' AND type = 'dashboard' ORDER BY 1 LIMIT 5;
