-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): items per type.
\ir _section.sql
\echo
\echo '== items per type: stored rows per scope, and effective documents per context'
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
