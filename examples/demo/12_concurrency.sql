-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): optimistic concurrency by version and by content hash.
\ir _section.sql
\echo
\echo '== optimistic concurrency: a write names what it read (expected_checksum, ObjectStack''s parentVersion)'
SET metadata.tenant_id = 'acme';
SELECT version AS read_version, checksum AS read_checksum, metadata AS read_doc
FROM metadata.get('object', :'obj') \gset
\echo '-- client A saves over the checksum it read: accepted, a new version'
SELECT version, left(checksum, 15) || '…' AS checksum
FROM metadata.save('object', :'obj', :'read_doc'::jsonb || '{"description": "edited by A"}',
                   expected_checksum => :'read_checksum');
\echo '-- client B read the same checksum: refused with 40001 (re-read and retry), nothing written'
SELECT r.code AS sqlstate, r.message
FROM demo.try(format('SELECT metadata.save(%L, %L, %L, expected_checksum => %L)', 'object', :'obj',
                     :'read_doc'::jsonb || '{"description": "edited by B"}', :'read_checksum')) AS r;
\echo '-- the same with the version it read, and "must not exist yet" (expected_checksum => NULL)'
SELECT r.code AS sqlstate, r.message, t.what
FROM (VALUES (1, 'expected_version => ' || :read_version,
              format('SELECT metadata.save(%L, %L, %L, expected_version => %s)', 'object', :'obj',
                     '{"description": "edited by B"}', :read_version)),
             (2, 'expected_checksum => NULL',
              format('SELECT metadata.save(%L, %L, %L, expected_checksum => NULL)', 'object', :'obj',
                     '{"description": "created by B"}'))) AS t(n, what, stmt)
CROSS JOIN LATERAL demo.try(t.stmt) AS r
ORDER BY t.n;
SELECT version, metadata ->> 'description' AS description FROM metadata.get('object', :'obj');
