-- Roles, privileges and row level security (DESIGN §5), with SET ROLE. The attack suite
-- over real logins is tests/client/tests/attacks.rs.
\set SHOW_CONTEXT never
CALL regress.reset();
SET client_min_messages = warning;  -- roles outlive the database: no notice on a re-run
GRANT metadata_reader TO regress_reader;
GRANT metadata_editor TO regress_editor;
GRANT metadata_admin TO regress_admin;
RESET client_min_messages;

-- The extension's roles and what PUBLIC gets (nothing).
SELECT r.rolname, array_agg(m.rolname ORDER BY m.rolname) FILTER (WHERE m.rolname IS NOT NULL) AS member_of
FROM pg_roles r LEFT JOIN pg_auth_members am ON am.member = r.oid LEFT JOIN pg_roles m ON m.oid = am.roleid
WHERE r.rolname LIKE 'metadata\_%' GROUP BY r.rolname ORDER BY r.rolname;
SELECT has_schema_privilege('public', 'metadata', 'USAGE') AS public_usage,
       has_function_privilege('public', 'metadata.effective(text, text, boolean)', 'EXECUTE') AS public_execute,
       has_table_privilege('public', 'metadata.sys_metadata', 'SELECT') AS public_select;
SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
WHERE relnamespace = 'metadata'::regnamespace AND relkind = 'r' ORDER BY relname;
-- No function is SECURITY DEFINER (the history and feed steps switch to the extension's
-- owner inside the library); any that were would pin search_path, PUBLIC not executing it.
SELECT p.proname, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE p.pronamespace = 'metadata'::regnamespace AND p.prosecdef ORDER BY 1;

-- Data: a system row, acme's overlay and a user row, globex's item.
SELECT version FROM metadata.save('object', 'account', '{"name": "account", "label": "Account", "fields": {}}', scope => 'system');
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', 'account', '{"label": "Acme account"}');
SET metadata.user_id = 'alice';
SELECT version FROM metadata.save('object', 'account', '{"label": "Alice''s account"}', scope => 'user');
SET metadata.tenant_id = 'globex';
SET metadata.user_id = 'bob';
SELECT version FROM metadata.save('object', 'globex_only', '{"name": "globex_only", "fields": {}}');

-- An editor of globex: sees global and globex rows only, writes only globex's.
SET ROLE regress_editor;
SELECT tenant_id, name, scope, owner FROM metadata.sys_metadata ORDER BY tenant_id NULLS FIRST, name;
SELECT metadata.effective('object', 'account') ->> 'label' AS label;
SELECT count(*) AS acme_history FROM metadata.sys_metadata_history WHERE tenant_id = 'acme';
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata) VALUES ('acme', 'object', 'x', '{"name": "x", "fields": {}}')$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET tenant_id = 'acme' WHERE name = 'globex_only'$$);
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"label": "pwned"}', scope => 'system')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"label": "x"}', scope => 'user', owner => 'alice')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui')$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata_history SET note = 'x'$$);
WITH u AS (UPDATE metadata.sys_metadata SET metadata = '{}' WHERE tenant_id = 'acme' OR tenant_id IS NULL RETURNING 1)
SELECT count(*) AS rows_reached FROM u;
SELECT version FROM metadata.save('object', 'account', '{"label": "Globex account"}');
SELECT version FROM metadata.save('object', 'account', '{"label": "Bob''s"}', scope => 'user');
SELECT metadata.effective('object', 'account') ->> 'label' AS label;
-- The same editor as acme's alice: alice's user row, not bob's.
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'alice';
SELECT tenant_id, name, scope, owner FROM metadata.sys_metadata ORDER BY tenant_id NULLS FIRST, name, scope;
RESET ROLE;

-- A reader reads its tenant and writes nothing; an outsider cannot even read.
SET ROLE regress_reader;
SELECT metadata.effective('object', 'account') ->> 'label' AS label;
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"label": "x"}')$$);
SELECT regress.fails($$DELETE FROM metadata.sys_metadata$$);
RESET ROLE;
SET ROLE regress_outsider;
SELECT regress.fails($$SELECT metadata.effective('object', 'account')$$);
SELECT regress.fails($$SELECT count(*) FROM metadata.sys_metadata$$);
RESET ROLE;

-- An admin writes system rows and types.
SET ROLE regress_admin;
SELECT version FROM metadata.save('object', 'account', '{"name": "account", "label": "Account v2", "fields": {}}', scope => 'system');
SELECT name FROM metadata.register_type('widget', 'ui');
RESET ROLE;
RESET metadata.tenant_id;
RESET metadata.user_id;

-- Tenant binding: a role bound to tenants may act only for them (or the global space);
-- it is enforced wherever the tenant is read, row level security included. Only
-- metadata_admin manages bindings.
RESET ROLE;
RESET metadata.tenant_id;
SELECT metadata.bind_tenant('regress_editor', 'acme') AS bound, metadata.bind_tenant('regress_editor', 'acme') AS again;
SET ROLE regress_editor;
SET metadata.tenant_id = 'acme';
SELECT metadata.current_tenant(), metadata.effective('object', 'account') ->> 'label' AS label;
SET metadata.tenant_id = 'globex';
SELECT regress.fails($$SELECT metadata.current_tenant()$$);
SELECT regress.fails($$SELECT count(*) FROM metadata.sys_metadata$$);
SELECT regress.fails($$SELECT metadata.effective('object', 'account')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'x', '{}')$$);
SELECT regress.fails($$SELECT metadata.unbind_tenant('regress_editor')$$);
RESET metadata.tenant_id;
SELECT count(*) AS global_rows FROM metadata.sys_metadata;
RESET ROLE;
SELECT metadata.unbind_tenant('regress_editor') AS unbound;
SET ROLE regress_editor;
SET metadata.tenant_id = 'globex';
SELECT metadata.current_tenant();
RESET ROLE;
RESET metadata.tenant_id;
