-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): what this backend's caches did, the feed's bounds, and history retention.
\ir _section.sql
\echo
\echo '== metadata.stats, feed_bounds and prune_history: caches, where the feed stands, old versions removed'
\echo '-- metadata.stats: this backend''s memo of effective documents and validator cache, and the feed'
\x on
SELECT * FROM metadata.stats;
\x off
\echo '-- history rows per layer before retention (the most changed layers)'
SELECT type, name, scope, coalesce(tenant_id, '—') AS tenant, count(*) AS versions
FROM metadata.sys_metadata_history GROUP BY type, name, scope, tenant_id
ORDER BY count(*) DESC, type, name LIMIT 5;
SELECT * FROM metadata.feed_bounds();
\echo '-- prune_history(max_versions => 2): every row keeps its two newest versions (its current one always;'
\echo '-- a layer''s draft row and the rows a publish removed count on their own)'
SELECT metadata.prune_history(max_versions => 2) AS removed;
SELECT type, name, scope, coalesce(tenant_id, '—') AS tenant, count(*) AS versions
FROM metadata.sys_metadata_history GROUP BY type, name, scope, tenant_id
ORDER BY count(*) DESC, type, name LIMIT 5;
\echo '-- the feed is complete from retained_from on: a follower that last read a seq below retained_from - 1 reloads'
SELECT * FROM metadata.feed_bounds();
