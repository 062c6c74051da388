-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): bad input.
\ir _section.sql
\echo
\echo '== bad input is rejected with a SQLSTATE, and nothing is half-written'
SELECT r.code AS sqlstate, r.message, t.stmt AS "statement"
FROM (VALUES
  (1, $$SELECT metadata.save('object', 'o''brien', '{"label": "x"}')$$),
  (2, $$SELECT metadata.save('object', 'widget', '[1, 2, 3]')$$),
  (3, $$SELECT metadata.save('gizmo', 'thing', '{}')$$),
  (4, $$SELECT metadata.save('view', 'my_view', '{}', scope => 'user')  -- no metadata.user_id$$),
  (5, $$SELECT metadata.bulk_save('[{"type":"object","name":"fine","metadata":{"name":"fine","fields":{}}}, {"type":"object","name":"not fine","metadata":{}}]')$$),
  (6, $$UPDATE metadata.sys_metadata SET version = 1000 WHERE scope = 'system'  -- plain SQL: the extension keeps versions$$),
  (7, $$UPDATE metadata.sys_metadata SET tenant_id = 'globex' WHERE tenant_id = 'acme'  -- a row cannot move to another layer$$)
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
