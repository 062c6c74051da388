-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): dependencies (what names what, from the types' reference paths), a blocked
-- delete of a depended-on object, and revalidation of stored documents on a schema change.
\ir _section.sql
\echo
\echo '== dependencies: what an item names and what names it; a depended-on object cannot be deleted'
-- The object most items name (by the dependency edges the write path keeps).
SELECT target_name AS dep_obj FROM metadata.sys_metadata_reference
WHERE target_type = 'object' AND scope = 'system'
GROUP BY target_name ORDER BY count(DISTINCT (type, name)) DESC, target_name LIMIT 1 \gset
\echo '-- metadata.dependents(''object'',' :'dep_obj' ') by type: the items whose effective documents name it'
SELECT type, count(DISTINCT name) AS items, string_agg(DISTINCT name, ', ') FILTER (WHERE depth = 1) AS "some of them"
FROM (SELECT * FROM metadata.dependents('object', :'dep_obj') LIMIT 200) d
GROUP BY type ORDER BY items DESC, type;
\echo '-- and with depth => 2: what depends on those in turn'
SELECT depth, count(DISTINCT (type, name)) AS items FROM metadata.dependents('object', :'dep_obj', depth => 2)
GROUP BY depth ORDER BY depth;
\echo '-- metadata.dependencies of one of them (a view if any): where it names what, and whether that exists'
SELECT type AS dep_type, name AS dep_item FROM metadata.dependents('object', :'dep_obj')
ORDER BY type <> 'view', type, name LIMIT 1 \gset
SELECT depth, type, name, path, found FROM metadata.dependencies(:'dep_type', :'dep_item', depth => 2) ORDER BY depth, path LIMIT 8;
\echo '-- deleting the object is refused (SQLSTATE 23503), the dependents in DETAIL (first lines); nothing archived'
SELECT r.code AS sqlstate, r.message, array_to_string((string_to_array(r.detail, E'\n'))[1:3], E'\n') AS "detail (first 3 lines)"
FROM demo.try(format('SELECT metadata.delete(%L, %L, scope => %L)', 'object', :'dep_obj', 'system')) AS r;
SELECT state FROM metadata.sys_metadata WHERE type = 'object' AND name = :'dep_obj' AND scope = 'system';

\echo
\echo '== revalidation: a schema change that stored documents fail is refused for a strict type'
SELECT schema AS view_schema FROM metadata.sys_metadata_type WHERE name = 'view' \gset
\echo '-- register_type(''view'', schema => the schema plus a required member): refused (23514), the count and the first ones'
SELECT r.code AS sqlstate, r.message, array_to_string((string_to_array(r.detail, E'\n'))[1:2], E'\n') AS "detail (first 2 lines)"
FROM demo.try(format('SELECT metadata.register_type(%L, schema => %L)', 'view',
                     jsonb_build_object('allOf', jsonb_build_array(:'view_schema'::jsonb, '{"required": ["demo_owner"]}'::jsonb)))) AS r;
\echo '-- metadata.revalidate(''view''): the stored views that fail the schema registered now (none: it was refused)'
SELECT count(*) AS failing_views FROM metadata.revalidate('view');
