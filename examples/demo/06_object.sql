-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): one object per context.
\ir _section.sql
\echo
\echo '== effective object' :'obj' 'per context (the fields the overlays touch)'
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
