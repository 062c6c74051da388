-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): preloaded mode, the feed worker numbering changes behind the writers, and
-- effective() answering from memory.
\ir _section.sql
\echo
\echo '== preloaded mode: the feed worker numbers committed changes; effective() answers from memory'
SELECT mode, feed_worker_pid IS NOT NULL AS worker_running, feed_head FROM metadata.stats;
\echo '-- five saves of the overlay of tenant acme, each its own transaction, with metadata.feed_sync = off: each commit returns at once,'
\echo '-- without the feed lock or NOTIFY; the worker, woken by each commit, numbers them behind the writer'
SET metadata.feed_sync = off;
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', :'obj', jsonb_build_object('description', 'worker 1'), scope => 'platform') \g /dev/null
SELECT version FROM metadata.save('object', :'obj', jsonb_build_object('description', 'worker 2'), scope => 'platform') \g /dev/null
SELECT version FROM metadata.save('object', :'obj', jsonb_build_object('description', 'worker 3'), scope => 'platform') \g /dev/null
SELECT version FROM metadata.save('object', :'obj', jsonb_build_object('description', 'worker 4'), scope => 'platform') \g /dev/null
SELECT version FROM metadata.save('object', :'obj', jsonb_build_object('description', 'worker 5'), scope => 'platform') \g /dev/null
\echo '-- wait_for_feed(): returns the head once every change committed before it has its position'
SELECT metadata.wait_for_feed() AS head;
SELECT seq, op, type, name, version FROM metadata.changes_since((SELECT head - 5 FROM metadata.feed_bounds()));
SELECT feed_backlog, last_notify_at IS NOT NULL AS worker_notified FROM metadata.stats;
\echo '-- the same effective() three times: the first reads the table, the next two answer from memory'
\echo '-- (no change bucket they depend on moved), as memo_hits shows'
SELECT memo_hits AS h0 FROM metadata.stats \gset
SELECT md5(metadata.effective('object', :'obj')::text) AS effective_md5 \g /dev/null
SELECT md5(metadata.effective('object', :'obj')::text) AS effective_md5 \g /dev/null
SELECT md5(metadata.effective('object', :'obj')::text) AS effective_md5 \g /dev/null
SELECT memo_hits - :h0 AS answers_from_memory FROM metadata.stats;
