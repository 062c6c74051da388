-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): list views per context.
\ir _section.sql
\if :have_view
\echo
\echo '== effective list views per context (a missing view shows as —)'
SELECT v.name AS view, c.context, e.doc ->> 'label' AS label, demo.columns(e.doc) AS columns,
       demo.sort(e.doc) AS sort, e.doc ->> 'pageSize' AS "pageSize"
FROM (VALUES (1, :'view'), (2, nullif(:'xview', ''))) AS v(ord, name)
CROSS JOIN demo.contexts AS c
CROSS JOIN LATERAL (SELECT demo.effective_as(c.tenant, c.usr, 'view', v.name)) AS e(doc)
WHERE v.name IS NOT NULL
ORDER BY v.ord, c.ord;
\endif
