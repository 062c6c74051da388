-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): the catalog: query, export, import (dry run with its diff, the import, an
-- unchanged re-import).
\ir _section.sql
\echo
\echo '== catalog: find items, export them as a bundle, import a bundle with a dry run first'
SET metadata.tenant_id = 'acme';
\echo '-- metadata.query(search => ''acc'', page_size => 5): layers acme may see whose name or label has a word starting with "acc"'
SELECT type, name, scope, tenant_id, left(label, 30) AS label, total, next_page IS NOT NULL AS more_pages
FROM metadata.query(search => 'acc', page_size => 5);
\echo '-- metadata.query(types => ''{object}'', effective => true): one row per object, its effective document for acme'
SELECT name, left(label, 30) AS label,
       (SELECT count(*) FROM jsonb_object_keys(CASE WHEN jsonb_typeof(doc -> 'fields') = 'object'
                                                    THEN doc -> 'fields' ELSE '{}' END)) AS fields, total
FROM metadata.query(types => '{object}', effective => true, page_size => 5);
\echo '-- metadata.export(''{"types": ["object"]}''): acme''s object layers as a bundle, stably sorted (the first item):'
SELECT jsonb_array_length(e -> 'items') AS items, md5(e::text) = md5(metadata.export('{"types": ["object"]}')::text) AS same_text_twice,
       jsonb_pretty((e -> 'items' -> 0) - 'metadata') AS "first item (metadata left out)"
FROM metadata.export('{"types": ["object"]}') AS e;
\echo '-- a bundle edited outside (one label changed, one item added), imported with dry_run => true: the report, nothing written'
CREATE TEMP TABLE edited AS
SELECT jsonb_set(jsonb_set(e, '{items}', (e -> 'items') || jsonb_build_array(jsonb_build_object(
                     'type', 'object', 'name', 'demo_new_object',
                     'metadata', '{"name": "demo_new_object", "label": "New", "fields": {}}'::jsonb))),
                 '{items,0,metadata,label}', '"Edited outside"') AS bundle
FROM metadata.export('{"types": ["object"], "scopes": ["platform"]}') AS e;
SELECT r -> 'counts' AS counts, r -> 'written' AS written FROM edited, metadata.import(bundle, dry_run => true) AS r;
SELECT i ->> 'status' AS status, i ->> 'type' || '/' || (i ->> 'name') AS item, i -> 'diff' AS diff
FROM edited, jsonb_array_elements(metadata.import(bundle, dry_run => true) -> 'items') AS i
WHERE i ->> 'status' <> 'unchanged';
\echo '-- the import itself, then the same bundle again: everything unchanged, no version written'
SELECT r -> 'counts' AS counts, r -> 'written' AS written FROM edited, metadata.import(bundle) AS r;
SELECT r -> 'counts' AS counts, (SELECT count(*) FROM metadata.history('object', 'demo_new_object')) AS versions_of_new_item
FROM edited, metadata.import(bundle) AS r;
\echo '-- one bad item and nothing is written: the report names it (JSON Pointer, SQLSTATE)'
SELECT i ->> 'pointer' AS pointer, i ->> 'status' AS status, i ->> 'sqlstate' AS sqlstate, left(i ->> 'message', 70) AS message
FROM jsonb_array_elements(metadata.import('{"items": [
        {"type": "object", "name": "demo_fine", "metadata": {"name": "demo_fine", "fields": {}}},
        {"type": "object", "name": "Not A Name", "metadata": {}}]}') -> 'items') AS i;
