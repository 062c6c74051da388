-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): explain.
\ir _section.sql
\echo
\echo '== metadata.explain: the layers behind an effective document, bottom first'
\set explain_cols 'ordinal, item, scope, tenant_id, owner, strategy, version, extends, left(checksum, 15) || ''…'' AS checksum, left(base_checksum, 15) || ''…'' AS base_checksum, stale'
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
\set hdr '-- as acme + u42: explain(''object'', ''' :obj ''')'
\echo :hdr
SELECT :explain_cols FROM metadata.explain('object', :'obj');
\if :have_xview
\set hdr '-- as acme + u42: explain(''view'', ''' :xview '''): the layers of its extends parent come first'
\echo :hdr
SELECT :explain_cols FROM metadata.explain('view', :'xview');
\endif
SET metadata.tenant_id = 'globex';
RESET metadata.user_id;
SELECT EXISTS (SELECT FROM metadata.sys_metadata WHERE tenant_id = 'globex' AND strategy = 'replace') AS have_replace \gset
\if :have_replace
SELECT type AS replace_type, name AS replace_name FROM metadata.sys_metadata
WHERE tenant_id = 'globex' AND strategy = 'replace' ORDER BY type, name LIMIT 1 \gset
\set hdr '-- as globex: explain(''' :replace_type ''', ''' :replace_name '''): a replace layer discards what is below it'
\echo :hdr
SELECT :explain_cols FROM metadata.explain(:'replace_type', :'replace_name');
\pset format unaligned
\pset tuples_only on
SELECT format('   system %s: %s; globex sees: %s', :'replace_name',
              demo.size(demo.effective_as(NULL, NULL, :'replace_type', :'replace_name')),
              demo.size(metadata.effective(:'replace_type', :'replace_name')));
\endif
