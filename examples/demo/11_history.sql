-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): history, diff, rollback, the change feed.
\ir _section.sql
\echo
\echo '== history and change events: every change is versioned, announced and kept in a feed'
SET metadata.tenant_id = 'acme';
\echo '-- metadata.history of the item as tenant acme sees it (newest first):'
SELECT id, op, scope, tenant_id, state, version, changed_by, left(checksum, 15) || '…' AS checksum, note
FROM metadata.history('object', :'obj') LIMIT 6;
\echo '-- metadata.diff between the first and the current version of the acme layer (RFC 6902):'
SELECT jsonb_array_elements(metadata.diff('object', :'obj', 1,
         (metadata.get('object', :'obj')).version)) AS "JSON Patch operation";
\echo '-- rollback to version 1 writes a new version equal to it (op revert), announced on LISTEN metadata_changes:'
LISTEN metadata_changes;
SELECT version, metadata ->> 'label' AS label
FROM metadata.rollback('object', :'obj', 1, 'demo: back to the first customisation');
\echo '-- the durable change feed (what a client that was offline reads): the last 5 changes'
SELECT seq, op, tenant_id, type, name, scope, version
FROM (SELECT * FROM metadata.changes_since(0, 10000) ORDER BY seq DESC LIMIT 5) AS c ORDER BY seq;
