-- Dependencies (DESIGN §4 "Catalog"): edges kept by the write path from the types'
-- reference paths, dependencies()/dependents() on effective documents, deletes refused
-- with 23503 unless cascade, prune in dependency order, edges rebuilt on a type change.
\set SHOW_CONTEXT never
CALL regress.reset();
SET client_min_messages = warning;
GRANT metadata_reader TO regress_reader;
GRANT metadata_editor TO regress_editor;
GRANT metadata_admin TO regress_admin;
RESET client_min_messages;
SELECT name FROM metadata.register_type('object', validation_mode => 'off');
SELECT name FROM metadata.register_type('view', validation_mode => 'off');
SELECT name FROM metadata.register_type('app', validation_mode => 'off');

-- A base: two objects (contact has a lookup to account), a view of each, an app over both.
SELECT version FROM metadata.save('object', 'account', '{"name": "account"}', scope => 'system');
SELECT version FROM metadata.save('object', 'contact', '{"name": "contact", "fields": {"account": {"type": "lookup", "reference": "account"}}}', scope => 'system');
SELECT version FROM metadata.save('view', 'accounts', '{"object": "account"}', scope => 'system');
SELECT version FROM metadata.save('view', 'contacts', '{"object": "contact"}', scope => 'system');
SELECT version FROM metadata.save('app', 'crm', '{"navigation": [{"objectName": "account"}, {"objectName": "contact"}, {"objectName": "nowhere"}]}', scope => 'system');

-- The edges: one per reference of each live row's own document.
SELECT type, name, scope, path, target_type, target_name
FROM metadata.sys_metadata_reference ORDER BY type, name, path;

-- What the app depends on: direct, then transitive (contact names account); found says
-- whether the named item exists.
SELECT * FROM metadata.dependencies('app', 'crm');
SELECT * FROM metadata.dependencies('app', 'crm', depth => 2);
-- What depends on account: direct, then transitive (what depends on those).
SELECT * FROM metadata.dependents('object', 'account');
SELECT * FROM metadata.dependents('object', 'account', depth => 3);
SELECT regress.fails($$SELECT * FROM metadata.dependents('object', 'account', depth => 0)$$);
SELECT regress.fails($$SELECT * FROM metadata.dependencies('nosuchtype', 'x')$$);

-- A tenant overlay that changes what a view names: dependents follow the effective
-- document (acme's accounts view now shows contacts), the edges index both.
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('view', 'accounts', '{"object": "contact"}');
SELECT type, name, depth FROM metadata.dependents('object', 'account') ORDER BY type, name;
SELECT type, name, depth FROM metadata.dependents('object', 'contact') ORDER BY type, name;
RESET metadata.tenant_id;
SELECT type, name FROM metadata.dependents('object', 'account') ORDER BY type, name;

-- Deleting what others depend on: 23503, the dependents (of every tenant) in DETAIL;
-- nothing is archived.
\x on
SELECT * FROM regress.fails_verbose($$SELECT metadata.delete('object', 'account', scope => 'system')$$);
\x off
SELECT state FROM metadata.sys_metadata WHERE type = 'object' AND name = 'account';
-- Deleting a dependent first is fine; a layer whose item stays visible is fine too (acme's
-- overlay goes, the base remains).
SET metadata.tenant_id = 'acme';
SELECT metadata.delete('view', 'accounts');
RESET metadata.tenant_id;
-- Plain SQL obeys the same rule (an UPDATE to archived, a DELETE).
SELECT sqlstate, detail FROM regress.fails_verbose($$UPDATE metadata.sys_metadata SET state = 'archived' WHERE type = 'object' AND name = 'contact'$$);
SELECT regress.fails($$DELETE FROM metadata.sys_metadata WHERE type = 'object' AND name = 'contact'$$);
-- cascade => true: deleted, the dependents reported in a NOTICE (and left as they are).
SELECT metadata.delete('object', 'contact', scope => 'system', cascade => true);
SELECT state FROM metadata.sys_metadata WHERE type = 'object' AND name = 'contact';
SELECT name, found FROM metadata.dependencies('app', 'crm') ORDER BY path;
-- A revived object is depended on again.
SELECT version FROM metadata.save('object', 'contact', '{"name": "contact"}', scope => 'system');
SELECT type, name FROM metadata.dependents('object', 'contact') ORDER BY type, name;

-- A tenant's own item depending on a global one blocks the global delete for everyone,
-- and the tenant's own object of that name keeps the tenant's items whole.
SET metadata.tenant_id = 'globex';
SELECT version FROM metadata.save('view', 'globex_accounts', '{"object": "account"}');
RESET metadata.tenant_id;
SELECT version FROM metadata.save('view', 'accounts', '{"object": "contact"}', scope => 'system');
SELECT version FROM metadata.save('app', 'crm', '{"navigation": []}', scope => 'system', strategy => 'replace');
SELECT regress.fails($$SELECT metadata.delete('object', 'account', scope => 'system')$$);
SET metadata.tenant_id = 'globex';
SELECT version FROM metadata.save('object', 'account', '{"name": "account", "label": "Globex account"}');
RESET metadata.tenant_id;
SELECT metadata.delete('object', 'account', scope => 'system');
-- ... but not globex's own object while its view names it.
SET metadata.tenant_id = 'globex';
SELECT regress.fails($$SELECT metadata.delete('object', 'account')$$);

-- Row level security: a tenant sees only its own and global edges; nobody writes them.
SET ROLE regress_editor;
SELECT DISTINCT tenant_id FROM metadata.sys_metadata_reference ORDER BY 1;
SELECT regress.fails($$INSERT INTO metadata.sys_metadata_reference VALUES (gen_random_uuid(), 'globex', 'view', 'x', 'platform', NULL, '/object', 'object', 'y')$$);
SELECT regress.fails($$DELETE FROM metadata.sys_metadata_reference$$);
SET metadata.tenant_id = 'acme';
SELECT DISTINCT tenant_id FROM metadata.sys_metadata_reference ORDER BY 1;
SELECT type, name FROM metadata.dependents('object', 'account');
RESET ROLE;
SET ROLE regress_reader;
SELECT regress.fails($$SELECT metadata._rebuild_references('view')$$);
RESET ROLE;
RESET metadata.tenant_id;

-- A type's reference paths change: its edges are rebuilt.
SELECT count(*) AS view_edges FROM metadata.sys_metadata_reference WHERE type = 'view';
SELECT name FROM metadata.register_type('view', reference_paths => '[]');
SELECT count(*) AS view_edges FROM metadata.sys_metadata_reference WHERE type = 'view';
SELECT name FROM metadata.register_type('view', reference_paths => '[{"path": "/object", "type": "object"}]');
SELECT tenant_id, name, target_name FROM metadata.sys_metadata_reference WHERE type = 'view' ORDER BY 1 NULLS FIRST, 2;
SELECT metadata._rebuild_references(NULL) > 0 AS rebuilt;

-- import: items written after what they name (the view after its object), and prune
-- archives dependents before what they depend on.
CALL regress.reset();
SELECT name FROM metadata.register_type('object', validation_mode => 'off');
SELECT name FROM metadata.register_type('view', validation_mode => 'off');
SET metadata.tenant_id = 'acme';
SELECT i ->> 'index' AS index, i ->> 'name' AS name, i ->> 'status' AS status
FROM jsonb_array_elements(metadata.import('{"items": [
  {"type": "view", "name": "leads", "metadata": {"object": "lead"}},
  {"type": "object", "name": "lead", "metadata": {"name": "lead", "fields": {"owner": {"reference": "person"}}}},
  {"type": "object", "name": "person", "metadata": {"name": "person"}},
  {"type": "object", "name": "task", "metadata": {"name": "task"}}
]}') -> 'items') i;
-- Prune with a bundle of task and its view: the view leads, then lead, then person go.
SELECT i ->> 'type' AS type, i ->> 'name' AS name, i ->> 'status' AS status
FROM jsonb_array_elements(metadata.import('{"items": [{"type": "object", "name": "task", "metadata": {"name": "task"}},
  {"type": "view", "name": "tasks", "metadata": {"object": "task"}}]}', prune => true) -> 'items') i;
-- Pruning an object that a kept view still names is refused, and nothing is written.
SELECT version FROM metadata.save('object', 'lead', '{"name": "lead"}');
SELECT version FROM metadata.save('view', 'leads', '{"object": "lead"}');
SELECT r -> 'counts' AS counts, r ->> 'written' AS written,
       (SELECT i ->> 'sqlstate' FROM jsonb_array_elements(r -> 'items') i WHERE i ->> 'status' = 'invalid') AS sqlstate
FROM metadata.import('{"items": [{"type": "object", "name": "task", "metadata": {"name": "task"}}, {"type": "view", "name": "leads", "metadata": {"object": "lead"}}]}', prune => true) AS r;
SELECT name, state FROM metadata.sys_metadata WHERE type = 'object' ORDER BY name, state;
RESET metadata.tenant_id;
