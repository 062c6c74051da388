-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): labels per context.
\ir _section.sql
\echo
\echo '== labels of every customised item, as each context sees them (metadata.effective)'
SELECT i.type, i.name,
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 1) AS global,
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 2) AS acme,
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 3) AS "acme + u42",
       max(e.doc ->> 'label') FILTER (WHERE c.ord = 4) AS globex
FROM (SELECT DISTINCT type, name FROM metadata.sys_metadata WHERE scope <> 'system') AS i
CROSS JOIN demo.contexts AS c
CROSS JOIN LATERAL (SELECT demo.effective_as(c.tenant, c.usr, i.type, i.name)) AS e(doc)
GROUP BY i.type, i.name ORDER BY i.type, i.name;
