-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): a draft, its preview, publish.
\ir _section.sql
\echo
\echo '== a draft and its preview: tenant acme stages a new label for' :'obj' ', then publishes it'
SET metadata.tenant_id = 'acme';
\echo '-- save(..., state => ''draft''): the draft is the whole new platform layer (the live one plus the change)'
SELECT scope, tenant_id, state, version, metadata ->> 'label' AS "draft label"
FROM metadata.save('object', :'obj',
       (metadata.get('object', :'obj', 'platform')).metadata
       || jsonb_build_object('label', (metadata.get('object', :'obj', 'platform')).metadata ->> 'label' || ' (v2)'),
       state => 'draft');
SELECT metadata.effective('object', :'obj') ->> 'label' AS "effective(...)",
       metadata.effective('object', :'obj', preview => true) ->> 'label' AS "effective(..., preview => true)",
       demo.effective_as('acme', 'u42', 'object', :'obj') ->> 'label' AS "u42 sees (no preview)";
\set hdr '-- publish(''object'', ''' :obj '''): the live platform row takes the draft'
\echo :hdr
SELECT scope, tenant_id, state, version, metadata ->> 'label' AS label
FROM metadata.publish('object', :'obj');
SELECT metadata.effective('object', :'obj') ->> 'label' AS "effective(...) now",
       demo.effective_as('acme', 'u42', 'object', :'obj') ->> 'label' AS "u42 sees now",
       (metadata.get('object', :'obj', 'platform', state => 'draft')).id IS NULL AS "draft gone";
SET metadata.user_id = 'u42';
\echo '-- explain as acme + u42 after publish: the platform layer was rewritten over the new base'
SELECT ordinal, scope, tenant_id, owner, version, left(base_checksum, 15) || '…' AS base_checksum, stale
FROM metadata.explain('object', :'obj');
