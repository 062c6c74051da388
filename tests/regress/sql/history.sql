-- History, rollback, diff and the change feed (DESIGN §4 "History", "Change events").
\set SHOW_CONTEXT never
CALL regress.reset();
SELECT name, validation_mode FROM metadata.register_type('object', validation_mode => 'off');

-- Every write is recorded with its operation, version, checksums, author and note.
SET metadata.user_id = 'alice';
SELECT version FROM metadata.save('object', 'account', '{"label": "Account", "fields": {"a": 1}}', scope => 'system', change_note => 'initial import');
SELECT version FROM metadata.save('object', 'account', '{"label": "Account", "fields": {"a": 1, "b": 2}}', scope => 'system');
SELECT version FROM metadata.save('object', 'account', '{"label": "Accounts", "fields": {"b": 3}}', scope => 'system');
SELECT version FROM metadata.save('object', 'account', '{"label": "Accounts", "fields": {"b": 3}}', scope => 'system');
SELECT version FROM metadata.save('object', 'account', '{"label": "Draft"}', scope => 'system', state => 'draft');
SET metadata.user_id = 'bob';
SELECT version FROM metadata.publish('object', 'account', 'system');
SELECT (metadata.rollback('object', 'account', 2, 'undo the relabel', scope => 'system')).version;
SELECT metadata.delete('object', 'account', 'system');
SELECT id, op, state, version, changed_by, note, previous_checksum IS NOT DISTINCT FROM lag(checksum) OVER (PARTITION BY item_id ORDER BY id) AS chained,
       metadata
FROM metadata.history('object', 'account') ORDER BY id;
-- Versions of the live row are gap-free; the history holds each of them once.
SELECT array_agg(version ORDER BY version) AS versions FROM metadata.history('object', 'account', 'system')
WHERE item_id = (SELECT id FROM metadata.sys_metadata WHERE name = 'account' AND state <> 'draft');
-- Paging, newest first.
SELECT array_agg(version) AS first_page FROM metadata.history('object', 'account', page_size => 3);
SELECT array_agg(version) AS next_page FROM metadata.history('object', 'account', page_size => 3,
       before_id => (SELECT min(id) FROM (SELECT id FROM metadata.history('object', 'account', page_size => 3)) p));

-- at_version, diff (RFC 6902), rollback of a deleted layer.
SELECT metadata.at_version('object', 'account', 2, 'system');
SELECT metadata.diff('object', 'account', 1, 3, 'system');
SELECT metadata.diff('{"a": [1, 2], "b": {"c": "x"}, "d": 1}', '{"a": [1, 3], "b": {}, "e": null}');
SELECT metadata.diff('{"a~b": 1, "c/d": 2}', '{"a~b": 2}');
SELECT state, version, metadata FROM metadata.rollback('object', 'account', 3, scope => 'system');
SELECT op, version, note FROM metadata.history('object', 'account', page_size => 1);
-- Rolling back to what is stored changes nothing.
SELECT version FROM metadata.rollback('object', 'account', 3, scope => 'system');

-- Plain SQL writes are recorded too, with versions kept by the trigger.
UPDATE metadata.sys_metadata SET metadata = '{"label": "By SQL"}' WHERE name = 'account' AND state = 'active';
INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'lead', 'system', '{"x": 1}');
DELETE FROM metadata.sys_metadata WHERE name = 'lead';
SELECT name, op, state, version FROM metadata.sys_metadata_history WHERE changed_by = 'bob' AND id > 9 ORDER BY id;

-- Bad input (P0002 missing versions; 22023, 22004), and what cannot be done.
SELECT regress.fails($$SELECT metadata.rollback('object', 'account', 99, scope => 'system')$$);
SELECT regress.fails($$SELECT metadata.rollback('object', 'nothing', 1, scope => 'system')$$);
SELECT regress.fails($$SELECT metadata.at_version('object', 'account', 99, 'system')$$);
SELECT regress.fails($$SELECT metadata.diff('object', 'account', 1, 99, 'system')$$);
SELECT regress.fails($$SELECT metadata.at_version('object', 'account', NULL, 'system')$$);
SELECT regress.fails($$SELECT * FROM metadata.history('object', 'account', page_size => 0)$$);
SELECT regress.fails($$SELECT * FROM metadata.changes_since(-1)$$);
SELECT regress.fails($$SELECT * FROM metadata.changes_since(0, 0)$$);
SELECT regress.fails($$SELECT * FROM metadata.changes_since(NULL)$$);
SELECT regress.fails($$TRUNCATE metadata.sys_metadata$$);
SELECT regress.fails($$TRUNCATE metadata.sys_metadata_history$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata_history SET note = 'rewritten'$$);
SELECT regress.fails($$DELETE FROM metadata.sys_metadata_history$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET version = version + 5 WHERE name = 'account'$$);
SELECT count(*) AS history_rows FROM metadata.sys_metadata_history;

-- The change feed: consecutive seq in commit order; rolled-back changes never appear;
-- a seq beyond the newest gives nothing; limit pages.
SELECT array_agg(seq ORDER BY seq) = array_agg(n ORDER BY n) AS consecutive, max(seq) AS newest
FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM metadata.changes_since(0, 10000)) c;
SELECT max(seq) AS last_seq FROM metadata.changes_since(0, 10000) \gset
BEGIN;
SELECT version FROM metadata.save('object', 'ghost', '{}', scope => 'system');
ROLLBACK;
SELECT version FROM metadata.save('object', 'contact', '{}', scope => 'system');
SELECT seq - :last_seq AS seq_after, op, name, version FROM metadata.changes_since(:last_seq);
SELECT count(*) AS beyond FROM metadata.changes_since(1000000);
SELECT count(*) AS page FROM metadata.changes_since(0, 5);
-- metadata.notify = off silences NOTIFY; the feed still records.
SET metadata.notify = off;
SELECT version FROM metadata.save('object', 'contact', '{"quiet": true}', scope => 'system');
RESET metadata.notify;
SELECT seq - :last_seq AS seq_after, op, name, version FROM metadata.changes_since(:last_seq + 1);

-- Tenants see their own changes and the global ones; users their own user layers.
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u1';
SELECT version FROM metadata.save('object', 'contact', '{"t": "acme"}');
SELECT version FROM metadata.save('object', 'contact', '{"u": 1}', scope => 'user');
SET metadata.tenant_id = 'globex';
SET metadata.user_id = 'u2';
SELECT version FROM metadata.save('object', 'contact', '{"t": "globex"}');
SELECT seq - :last_seq AS seq_after, tenant_id, scope, owner, version FROM metadata.changes_since(:last_seq + 2);
SELECT tenant_id, scope, owner, version FROM metadata.history('object', 'contact') ORDER BY id;
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u1';
SELECT seq - :last_seq AS seq_after, tenant_id, scope, owner, version FROM metadata.changes_since(:last_seq + 2);
RESET metadata.tenant_id;
RESET metadata.user_id;

-- The feed is dense: positions 1..head are exactly the committed changes. A transaction
-- that fails at commit (here: a reference checked at commit) takes no position either.
SELECT name FROM metadata.register_type('gizmo', 'ui', schema => '{"type": "object"}',
                                        reference_paths => '[{"path": "/part", "type": "gizmo"}]');
BEGIN;
SELECT version FROM metadata.save('gizmo', 'g1', '{"part": "missing"}', scope => 'system');
COMMIT;
SELECT version FROM metadata.save('gizmo', 'g2', '{}', scope => 'system');
SELECT (SELECT head FROM metadata.sys_metadata_feed) = max(seq) AS head_is_last,
       count(seq) = max(seq) AS dense, count(*) FILTER (WHERE seq IS NULL) AS unnumbered
FROM metadata.sys_metadata_history;
SELECT seq - :last_seq AS seq_after, name FROM metadata.changes_since(:last_seq + 5);

-- Nothing a caller may set disables or falsifies history: application_name = 'pg_restore'
-- is no restore (only row_security = off by a login that bypasses row level security
-- is), and the operation of a change is the extension's (metadata.change_op is ignored).
SET application_name = 'pg_restore';
SET metadata.change_op = 'publish';
SELECT version FROM metadata.save('object', 'honest', '{"v": 1}', scope => 'system');
SELECT version FROM metadata.save('object', 'honest', '{"v": 2}', scope => 'system');
SELECT metadata.delete('object', 'honest', 'system');
RESET application_name;
RESET metadata.change_op;
SELECT op, version, seq IS NOT NULL AS in_feed FROM metadata.sys_metadata_history WHERE name = 'honest' ORDER BY id;

-- diff is bounded: an insertion at the head of a long array does not give a patch many
-- times the documents (0.1.0: 8 times here, 68 MB for two 2 MB documents); it still turns
-- a into b.
CREATE TEMP TABLE long_docs AS
SELECT jsonb_build_object('v', (SELECT jsonb_agg(i) FROM generate_series(1, 100000) AS i)) AS a,
       jsonb_build_object('v', (SELECT jsonb_agg(i) FROM generate_series(0, 100000) AS i)) AS b;
SELECT octet_length(metadata.diff(a, b)::text) <= octet_length(a::text) + octet_length(b::text) AS bounded,
       jsonb_array_length(metadata.diff(a, b)) AS operations
FROM long_docs;
