-- The catalog (DESIGN §4): export, query and import.
\set SHOW_CONTEXT never
CALL regress.reset();
SET client_min_messages = warning;
GRANT metadata_reader TO regress_reader;
RESET client_min_messages;
SELECT name, validation_mode FROM metadata.register_type('object', validation_mode => 'off');
SELECT version FROM metadata.save('object', 'account', '{"name": "account", "label": "Account"}', scope => 'system',
                                  package_id => 'crm', package_version => '1.0.0');
SELECT version FROM metadata.save('view', 'all_accounts', '{"name": "all_accounts", "object": "account"}', scope => 'system', tags => '{ui}');
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', 'account', '{"label": "Acme account"}', tags => '{sales,ui}');
SELECT version FROM metadata.save('object', 'account', '{"label": "Acme draft"}', state => 'draft');
SELECT version FROM metadata.save('object', 'lead', '{"name": "lead"}', namespace => 'sales', strategy => 'replace');
SET metadata.user_id = 'alice';
SELECT version FROM metadata.save('object', 'account', '{"label": "Alice"}', scope => 'user');
SET metadata.tenant_id = 'globex';
SELECT version FROM metadata.save('object', 'globex_only', '{"name": "globex_only"}');
SELECT metadata.delete('object', 'globex_only');
SELECT version FROM metadata.save('object', 'globex_kept', '{"name": "globex_kept"}');
RESET metadata.user_id;

-- What acme's reader alice sees, sorted by type, name, scope, tenant, owner, state; members
-- at their default left out; archived rows only when asked.
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'alice';
SET ROLE regress_reader;
SELECT jsonb_pretty(metadata.export());
SELECT jsonb_array_length(metadata.export() -> 'items') AS all_items,
       metadata.export() = metadata.export() AS stable;
SELECT i ->> 'name' AS name, i ->> 'scope' AS scope, i ->> 'state' AS state
FROM jsonb_array_elements(metadata.export('{"types": ["object"], "tags": ["ui"]}') -> 'items') i;
SELECT i ->> 'name' AS name FROM jsonb_array_elements(metadata.export('{"namespaces": ["sales"]}') -> 'items') i;
SELECT i ->> 'name' AS name FROM jsonb_array_elements(metadata.export('{"package_id": "crm", "scopes": ["system"]}') -> 'items') i;
RESET ROLE;
SET metadata.tenant_id = 'globex';
SET ROLE regress_reader;
SELECT i ->> 'name' AS name, i ->> 'state' AS state
FROM jsonb_array_elements(metadata.export('{"states": ["active", "archived"]}') -> 'items') i;
RESET ROLE;

-- A one-field change is a change of one item (and its checksum).
SET metadata.tenant_id = 'acme';
CREATE TEMP TABLE before AS SELECT jsonb_array_elements(metadata.export() -> 'items') AS item;
SELECT version FROM metadata.save('object', 'lead', '{"name": "lead", "label": "Lead"}');
SELECT a.item ->> 'name' AS changed, a.item -> 'metadata' AS now
FROM (SELECT jsonb_array_elements(metadata.export() -> 'items') AS item) a
WHERE NOT EXISTS (SELECT FROM before b WHERE b.item = a.item);
SELECT metadata.checksum(i -> 'metadata') = i ->> 'checksum' AS checksums_match
FROM jsonb_array_elements(metadata.export() -> 'items') i GROUP BY 1;

-- Bad filters: 22023, naming the member.
SELECT regress.fails($$SELECT metadata.export('{"tenant": "globex"}')$$);
SELECT regress.fails($$SELECT metadata.export('{"types": "object"}')$$);
SELECT regress.fails($$SELECT metadata.export('{"types": [1]}')$$);
SELECT regress.fails($$SELECT metadata.export('[]')$$);

-- query: layers the caller may see, filtered, searched, paged.
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'alice';
SET ROLE regress_reader;
SELECT type, name, scope, tenant_id, owner, state, namespace, tags, version, label, total, next_page IS NOT NULL AS more
FROM metadata.query();
SELECT name, scope, state FROM metadata.query(states => '{draft}');
SELECT name, scope, tags FROM metadata.query(types => '{object}', tags => '{ui}');
SELECT name, namespace FROM metadata.query(namespaces => '{sales}');
-- Search: every word a prefix of a word of the name or the label.
SELECT name, scope, label FROM metadata.query(search => 'acc');
SELECT name, scope, label FROM metadata.query(search => 'ACME acc');
SELECT name, label FROM metadata.query(search => 'all');
SELECT count(*) FROM metadata.query(search => 'nothing matches this');
SELECT count(*) FROM metadata.query(search => $$it's: & | !$$);
-- Effective: one row per item, its effective document for alice.
SELECT type, name, label, doc, total FROM metadata.query(effective => true);
-- Paging: two at a time until next_page is NULL, every row once, total on each.
CREATE TEMP TABLE pages (page integer, name text, scope text, total bigint);
DO $$
DECLARE
    cursor text;
    n integer := 0;
BEGIN
    LOOP
        n := n + 1;
        INSERT INTO pages SELECT n, q.name, q.scope, q.total FROM metadata.query(page_size => 2, page => cursor) q;
        SELECT max(q.next_page) INTO cursor FROM metadata.query(page_size => 2, page => cursor) q;
        EXIT WHEN cursor IS NULL OR n > 10;
    END LOOP;
END $$;
SELECT page, name, scope, total FROM pages ORDER BY page, name, scope;
SELECT count(*) AS newest_first_rows, bool_and(a.updated_at >= b.updated_at) AS newest_first
FROM (SELECT updated_at, row_number() OVER () AS n FROM metadata.query(sort => '-updated_at')) a
JOIN (SELECT updated_at, row_number() OVER () AS n FROM metadata.query(sort => '-updated_at')) b ON b.n = a.n + 1;
SELECT regress.fails($$SELECT * FROM metadata.query(sort => 'label')$$);
SELECT regress.fails($$SELECT * FROM metadata.query(page_size => 0)$$);
SELECT regress.fails($$SELECT * FROM metadata.query(page => 'not a page')$$);
RESET ROLE;

-- import: a bundle through save, with a report per item.
CALL regress.reset();
SELECT name, validation_mode FROM metadata.register_type('object', validation_mode => 'off');
SELECT name FROM metadata.register_type('strict_view', 'ui', validation_mode => 'strict',
    schema => '{"type": "object", "required": ["object"]}', reference_paths => '[{"path": "/object", "type": "object"}]', check_references => true);
SET metadata.tenant_id = 'acme';
CREATE TEMP TABLE b AS SELECT '{"format": "objectstack-metadata-bundle", "items": [
  {"type": "object", "name": "account", "scope": "system", "metadata": {"name": "account", "label": "Account", "fields": {"a": 1}}},
  {"type": "object", "name": "account", "metadata": {"label": "Acme account"}, "tags": ["sales"]},
  {"type": "object", "name": "special", "extends": "base", "metadata": {"x": 1}},
  {"type": "object", "name": "base", "metadata": {"name": "base"}},
  {"type": "strict_view", "name": "accounts", "metadata": {"object": "account"}}
]}'::jsonb AS bundle;
-- A dry run: every check, nothing written.
SELECT jsonb_pretty(metadata.import(bundle, dry_run => true) - 'items') FROM b;
SELECT i ->> 'index' AS index, i ->> 'status' AS status, i ->> 'version' AS version
FROM b, jsonb_array_elements(metadata.import(bundle, dry_run => true) -> 'items') i;
SELECT count(*) AS rows_after_dry_run FROM metadata.sys_metadata;
-- The import (dependencies first: base before special, account before the view naming it).
SELECT i ->> 'index' AS index, i ->> 'type' AS type, i ->> 'name' AS name, i ->> 'scope' AS scope,
       i ->> 'status' AS status, i ->> 'version' AS version
FROM b, jsonb_array_elements(metadata.import(bundle) -> 'items') i;
SELECT metadata.effective('object', 'account') ->> 'label' AS label, metadata.effective('object', 'special') AS special;
-- The same bundle again: everything unchanged, no version written.
SELECT coalesce(max(id), 0) AS history_before FROM metadata.sys_metadata_history \gset
SELECT metadata.import(bundle) -> 'counts' AS counts FROM b;
SELECT count(*) AS new_history_rows FROM metadata.sys_metadata_history WHERE id > :history_before;
-- An exported bundle imports as unchanged too.
SELECT metadata.import(metadata.export()) -> 'counts' AS reimport_of_export;
-- One changed field: one update with its RFC 6902 diff.
UPDATE b SET bundle = jsonb_set(bundle, '{items,1,metadata,label}', '"Acme accounts"');
SELECT i ->> 'name' AS name, i ->> 'status' AS status, i -> 'diff' AS diff
FROM b, jsonb_array_elements(metadata.import(bundle) -> 'items') i WHERE i ->> 'status' <> 'unchanged';
-- merge: the item's document patches the stored layer; skip: existing layers untouched.
SELECT i ->> 'status' AS status, i -> 'diff' AS diff FROM jsonb_array_elements(metadata.import(
  '{"items": [{"type": "object", "name": "account", "metadata": {"help": "Our customers"}, "tags": ["sales"]}]}',
  mode => 'merge') -> 'items') i;
SELECT metadata.effective('object', 'account') ->> 'label' AS label_kept, metadata.effective('object', 'account') ->> 'help' AS help;
SELECT i ->> 'status' AS status FROM jsonb_array_elements(metadata.import(
  '{"items": [{"type": "object", "name": "account", "metadata": {"label": "ignored"}}]}', mode => 'skip') -> 'items') i;
-- All or nothing: one bad item (a broken reference, an unknown member, a schema error) and
-- nothing is written; the report says which and why.
SELECT i ->> 'pointer' AS pointer, i ->> 'status' AS status, i ->> 'sqlstate' AS sqlstate, i ->> 'message' AS message
FROM jsonb_array_elements(metadata.import('{"items": [
  {"type": "object", "name": "fine", "metadata": {"name": "fine"}},
  {"type": "object", "name": "odd", "metadata": {}, "tenant": "x"},
  {"type": "strict_view", "name": "no_object", "metadata": {}},
  {"type": "strict_view", "name": "dangling", "metadata": {"object": "nowhere"}}]}') -> 'items') i;
SELECT count(*) AS fine_rows FROM metadata.sys_metadata WHERE name = 'fine';
-- continue_on_error: the good items are written.
SELECT metadata.import('{"items": [{"type": "object", "name": "fine", "metadata": {"name": "fine"}},
  {"type": "object", "name": "odd", "metadata": {}, "tenant": "x"}]}', continue_on_error => true) - 'items' AS report;
SELECT count(*) AS fine_rows FROM metadata.sys_metadata WHERE name = 'fine';
-- expected_checksum: a layer changed since it was read is a conflict, not an overwrite.
SELECT i ->> 'status' AS status, i ->> 'sqlstate' AS sqlstate FROM jsonb_array_elements(metadata.import(
  '{"items": [{"type": "object", "name": "fine", "metadata": {"name": "fine2"}, "expected_checksum": "sha256:0"}]}') -> 'items') i;
-- prune: the layers of the bundle's types, scopes and tenant that it does not name are
-- archived, and reported; without prune nothing is deleted.
SELECT i ->> 'name' AS name, i ->> 'status' AS status
FROM jsonb_array_elements(metadata.import('{"items": [{"type": "object", "name": "base", "metadata": {"name": "base"}}]}',
                                          prune => true, dry_run => true) -> 'items') i ORDER BY 1;
SELECT count(*) AS live_platform_objects FROM metadata.sys_metadata
WHERE tenant_id = 'acme' AND type = 'object' AND state = 'active';
-- Bad calls.
SELECT regress.fails($$SELECT metadata.import('[]')$$);
SELECT regress.fails($$SELECT metadata.import('{"items": []}', mode => 'upsert')$$);
SELECT regress.fails($$SELECT metadata.import(NULL)$$);
RESET metadata.tenant_id;

-- Indexes serve a type + namespace + tag query on 100,000 rows: no sequential scan of
-- sys_metadata (the query as query() runs it, for a reader under row level security).
SET session_replication_role = replica;
INSERT INTO metadata.sys_metadata (tenant_id, type, name, namespace, metadata, tags, checksum)
SELECT 't' || (i % 100), CASE WHEN i % 3 = 0 THEN 'view' ELSE 'object' END, 'item_' || i,
       CASE WHEN i % 10 = 0 THEN 'sales' ELSE 'default' END, jsonb_build_object('label', 'Item ' || i),
       CASE WHEN i % 50 = 0 THEN '{hot}'::text[] ELSE '{}' END, ''
FROM generate_series(1, 100000) i;
RESET session_replication_role;
ANALYZE metadata.sys_metadata;
SET metadata.tenant_id = 't0';
SET ROLE regress_reader;
SELECT count(*) AS rows FROM metadata.query(types => '{object}', namespaces => '{sales}', tags => '{hot}');
CREATE TEMP TABLE plan (line text);
DO $$
DECLARE
    l text;
BEGIN
    FOR l IN EXPLAIN (COSTS OFF)
        SELECT m.name FROM metadata.sys_metadata m
        WHERE m.state = ANY ('{active,deprecated}') AND m.type = ANY ('{object}')
          AND m.namespace::text = ANY ('{sales}') AND m.tags && '{hot}'::text[]
    LOOP
        INSERT INTO plan VALUES (l);
    END LOOP;
END $$;
SELECT count(*) FILTER (WHERE line LIKE '%Seq Scan on sys_metadata%') AS seq_scans,
       count(*) FILTER (WHERE line LIKE '%Index%' OR line LIKE '%Bitmap%') > 0 AS uses_an_index
FROM plan;
RESET ROLE;
