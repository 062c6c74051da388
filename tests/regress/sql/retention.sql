-- History retention (prune_history) and the feed's bounds (feed_bounds): old versions go,
-- a row's current version never does, age is measured from the moment a change got its
-- feed position (not from its transaction's start), and the feed says from where it is
-- complete.
\set SHOW_CONTEXT never
CALL regress.reset();
SET client_min_messages = warning;
GRANT metadata_reader TO regress_reader;
GRANT metadata_admin TO regress_admin;
RESET client_min_messages;
SELECT name FROM metadata.register_type('object', validation_mode => 'off');
SELECT * FROM metadata.feed_bounds();

-- Five versions of account, two of lead (then deleted: its current version is the delete),
-- three of a tenant's overlay.
SELECT max(version) FROM generate_series(1, 5) v, metadata.save('object', 'account', jsonb_build_object('v', v), scope => 'system');
SELECT version FROM metadata.save('object', 'lead', '{"v": 1}', scope => 'system');
SELECT version FROM metadata.save('object', 'lead', '{"v": 2}', scope => 'system');
SELECT metadata.delete('object', 'lead', 'system');
SET metadata.tenant_id = 'acme';
SELECT max(version) FROM generate_series(1, 3) v, metadata.save('object', 'account', jsonb_build_object('t', v));
RESET metadata.tenant_id;
SELECT * FROM metadata.feed_bounds();
-- Every numbered change has the time it got its position; none before its transaction began.
SELECT count(*) AS numbered, count(*) FILTER (WHERE sequenced_at >= changed_at) AS timed
FROM metadata.sys_metadata_history;

-- Only metadata_admin prunes; a limit is needed, and must make sense.
SET ROLE regress_reader;
SELECT regress.fails($$SELECT metadata.prune_history(max_versions => 1)$$);
SELECT * FROM metadata.feed_bounds();
SET ROLE regress_admin;
SELECT regress.fails($$SELECT metadata.prune_history()$$);
SELECT regress.fails($$SELECT metadata.prune_history(max_versions => 0)$$);
SELECT regress.fails($$SELECT metadata.prune_history(max_age => '-1 day')$$);
-- History stays append-only for every role otherwise.
RESET ROLE;
SELECT regress.fails($$DELETE FROM metadata.sys_metadata_history WHERE version = 1$$);

-- Keep the two newest versions of every row: account keeps 4 and 5, the overlay 2 and 3,
-- lead its last version and its delete.
SET ROLE regress_admin;
SELECT metadata.prune_history(max_versions => 2) AS removed;
RESET ROLE;
SELECT tenant_id, name, string_agg(op || ' v' || version, ', ' ORDER BY version) AS kept
FROM metadata.sys_metadata_history GROUP BY tenant_id, name ORDER BY tenant_id NULLS FIRST, name;
-- The feed is complete from the position after the highest one removed; changes_since
-- still returns what is retained.
SELECT * FROM metadata.feed_bounds();
SELECT seq, name, version FROM metadata.changes_since(0) ORDER BY seq;
-- Again: nothing more to remove.
SET ROLE regress_admin;
SELECT metadata.prune_history(max_versions => 2) AS removed;

-- By age, the current versions stay whatever their age (max_age 0: everything else goes).
SELECT metadata.prune_history(max_age => '0 seconds') AS removed;
RESET ROLE;
SELECT name, tenant_id, op, version FROM metadata.sys_metadata_history ORDER BY name, tenant_id NULLS FIRST;

-- Not by the transaction's start: a change committed a moment ago by a transaction that
-- began long before it is young. v6 and v7 of account, saved in one transaction that
-- lasts 2.5 seconds; right after, pruning what is older than 2 seconds keeps v6, which
-- a prune by changed_at (the transaction's start) would have removed.
BEGIN;
SELECT version FROM metadata.save('object', 'account', '{"v": 6}', scope => 'system');
SELECT pg_sleep(2.5);
SELECT version FROM metadata.save('object', 'account', '{"v": 7}', scope => 'system');
COMMIT;
SELECT version, changed_at < clock_timestamp() - interval '2 seconds' AS began_over_2s_ago
FROM metadata.sys_metadata_history WHERE name = 'account' AND tenant_id IS NULL ORDER BY version;
SET ROLE regress_admin;
SELECT metadata.prune_history(max_age => '2 seconds') AS removed;
RESET ROLE;
SELECT version FROM metadata.sys_metadata_history WHERE name = 'account' AND tenant_id IS NULL ORDER BY version;

-- metadata.stats: this backend's caches and the feed.
SELECT mode = CASE WHEN current_setting('shared_preload_libraries') ~ 'metadata' THEN 'preloaded' ELSE 'plain' END AS mode_ok,
       feed_head = (SELECT head FROM metadata.feed_bounds()) AS head_agrees,
       feed_retained_from = (SELECT retained_from FROM metadata.feed_bounds()) AS retained_agrees,
       feed_backlog, memo_budget_bytes = (SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'metadata.memo_size') AS budget
FROM metadata.stats;
-- The memo: a two-layer item read twice is one miss, then one hit (preloaded mode: the
-- whole answer is remembered too, one more miss and entry, and the hit is the answer's).
SET metadata.tenant_id = 'acme';
SELECT memo_hits AS h0, memo_misses AS m0, memo_entries AS e0 FROM metadata.stats \gset
SELECT metadata.effective('object', 'account') = metadata.effective('object', 'account') AS same;
SELECT memo_hits - :h0 AS new_hits,
       memo_misses - :m0 - (mode = 'preloaded')::int AS new_misses,
       memo_entries - :e0 - (mode = 'preloaded')::int AS new_entries
FROM metadata.stats;
-- The feed: a change waits for its position until its transaction commits, which rings.
BEGIN;
SELECT version FROM metadata.save('object', 'account', '{"t": 4}');
SELECT feed_backlog FROM metadata.stats;
COMMIT;
SELECT feed_backlog, last_notify_at IS NOT NULL AS notified, feed_head = (SELECT max(seq) FROM metadata.sys_metadata_history) AS head_is_newest
FROM metadata.stats;
-- wait_for_feed: the head once every change committed before the call has its position
-- (plain mode: at once; preloaded mode, where metadata.feed_sync = off lets a commit return
-- before the feed worker numbered its changes: after the worker's step).
SET metadata.feed_sync = off;
SELECT version FROM metadata.save('object', 'account', '{"t": 5}');
SELECT metadata.wait_for_feed() IS NOT NULL AS waited;
SELECT (SELECT count(*) FROM metadata.sys_metadata_history WHERE seq IS NULL) AS unnumbered,
       (SELECT head FROM metadata.feed_bounds()) = (SELECT max(seq) FROM metadata.sys_metadata_history) AS head_is_newest;
SELECT feed_backlog FROM metadata.stats;
RESET metadata.feed_sync;
SELECT metadata.wait_for_feed('-1 s');
SELECT metadata.wait_for_feed('0 s') IS NOT NULL AS nothing_to_wait_for;
-- A reader sees it too.
RESET metadata.tenant_id;
SET ROLE regress_reader;
SELECT mode IN ('plain', 'preloaded') AS mode_ok, feed_head > 0 AS has_head FROM metadata.stats;
RESET ROLE;
