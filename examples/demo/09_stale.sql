-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): a stale overlay after a package upgrade.
\ir _section.sql
\echo
\echo '== a stale overlay: the package ships a new base of object' :'obj'
\echo '-- as the package''s vendor (no tenant), by hand (section 19 upgrades the package properly):'
\echo '-- re-save the system row with a new field and description'
SELECT version, left(checksum, 15) || '…' AS checksum, package_version
FROM metadata.save('object', :'obj',
       jsonb_set((metadata.get('object', :'obj', 'system')).metadata,
                 '{fields,last_reviewed}', '{"type": "date", "label": "Last Reviewed"}')
       || '{"description": "Upgraded base, saved by hand"}',
       scope => 'system');
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
\echo '-- as acme + u42: the overlays were written over the old base, so explain flags them stale'
SELECT ordinal, scope, tenant_id, owner, version, left(checksum, 15) || '…' AS checksum,
       left(base_checksum, 15) || '…' AS base_checksum, stale
FROM metadata.explain('object', :'obj');
\echo '-- ... and they still apply: overlay labels and the new base field side by side'
SELECT e.doc ->> 'label' AS label, e.doc ->> 'description' AS description,
       demo.field_lines(e.doc, demo.touched_fields('object', :'obj') || '{last_reviewed}') AS fields
FROM (SELECT metadata.effective('object', :'obj')) AS e(doc);
