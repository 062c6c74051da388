-- Packages (DESIGN §4 "Packages"): install, the registry, upgrade over tenant and user
-- overlays by three-way merge (conflicts, resolutions, keep-custom, accept-incoming),
-- dry run, re-run, deprecation of dropped items, validation of the results, publish and
-- revert of a package's drafts, uninstall.
\set SHOW_CONTEXT never
CALL regress.reset();
SET client_min_messages = warning;
GRANT metadata_reader TO regress_reader;
GRANT metadata_editor TO regress_editor;
GRANT metadata_admin TO regress_admin;
RESET client_min_messages;
SELECT name FROM metadata.register_type('object', validation_mode => 'off');
SELECT name FROM metadata.register_type('view', validation_mode => 'strict',
    schema => '{"type": "object", "properties": {"object": {"type": "string"}, "columns": {"type": "array"},
                "options": {"type": "object", "maxProperties": 2}}}',
    reference_paths => '[{"path": "/object", "type": "object"}]');

CREATE TABLE regress.crm (version text PRIMARY KEY, bundle jsonb);
INSERT INTO regress.crm VALUES
('1.0.0', '{"package": {"id": "crm", "version": "1.0.0", "description": "CRM"}, "items": [
  {"type": "object", "name": "account", "metadata": {"name": "account", "label": "Account",
     "fields": {"name": {"type": "text", "label": "Name"}, "phone": {"type": "text", "label": "Phone"},
                "rating": {"type": "select", "options": ["hot", "cold"]}}}},
  {"type": "object", "name": "lead", "metadata": {"name": "lead", "label": "Lead"}},
  {"type": "view", "name": "accounts", "metadata": {"object": "account", "columns": ["name"]}}]}'),
-- 1.1.0 renames labels, changes a field type, removes rating, adds a column; lead unchanged.
('1.1.0', '{"package": {"id": "crm", "version": "1.1.0"}, "items": [
  {"type": "object", "name": "account", "metadata": {"name": "account", "label": "Company",
     "fields": {"name": {"type": "text", "label": "Account name"}, "phone": {"type": "phone", "label": "Phone"}}}},
  {"type": "object", "name": "lead", "metadata": {"name": "lead", "label": "Lead"}},
  {"type": "view", "name": "accounts", "metadata": {"object": "account", "columns": ["name", "phone"]}}]}'),
-- 1.2.0 changes the label again and no longer ships lead.
('1.2.0', '{"package": {"id": "crm", "version": "1.2.0"}, "items": [
  {"type": "object", "name": "account", "metadata": {"name": "account", "label": "Organisation",
     "fields": {"name": {"type": "text", "label": "Account name"}, "phone": {"type": "phone", "label": "Phone"}}}},
  {"type": "view", "name": "accounts", "metadata": {"object": "account", "columns": ["name", "phone"]}}]}');
GRANT SELECT ON regress.crm TO PUBLIC;

-- Installing needs metadata_admin; a package bundle needs its package member.
SET ROLE regress_editor;
SELECT regress.fails($$SELECT metadata.install_package(bundle) FROM regress.crm WHERE version = '1.0.0'$$);
SET ROLE regress_admin;
SELECT regress.fails($$SELECT metadata.install_package('{"items": []}')$$);
SELECT regress.fails($$SELECT metadata.install_package('{"package": {"id": "9x", "version": "1"}, "items": []}')$$);
SELECT regress.fails($$SELECT metadata.install_package('{"package": {"id": "crm", "version": "1"}, "items": [{"type": "object", "name": "a", "scope": "platform", "metadata": {}}]}')$$);
SELECT regress.fails($$SELECT metadata.install_package('{"package": {"id": "crm", "version": "1"}, "items": [{"type": "object", "name": "a", "tenant_id": "acme", "metadata": {}}]}')$$);

SELECT p ->> 'installed' AS installed, p -> 'counts' AS counts
FROM regress.crm, metadata.install_package(bundle) AS p WHERE version = '1.0.0';
SELECT id, version, description, items, published FROM metadata.packages();
SELECT type, name, scope, package_id, package_version, managed_by FROM metadata.sys_metadata ORDER BY type, name;
-- Every reader sees the registry; only the package functions (metadata_admin) write it.
SET ROLE regress_reader;
SELECT id, version FROM metadata.packages();
SELECT regress.fails($$UPDATE metadata.sys_metadata_package SET version = '9'$$);
SET ROLE regress_editor;
SELECT regress.fails($$INSERT INTO metadata.sys_metadata_package (id, version, checksum, manifest) VALUES ('x', '1', '', '[]')$$);
SET ROLE regress_admin;
-- Installed already; an item of another package.
SELECT regress.fails($$SELECT metadata.install_package(bundle) FROM regress.crm WHERE version = '1.0.0'$$);
SELECT regress.fails($$SELECT metadata.install_package('{"package": {"id": "erp", "version": "1"}, "items": [{"type": "object", "name": "lead", "metadata": {}}]}')$$);
RESET ROLE;

-- Customisations: acme relabels the object (the package relabels it too: a conflict),
-- globex relabels the name field (conflict too), initech made the package's own change
-- (converged), acme's user u1 relabels phone (the package leaves that label alone) and
-- customises rating (which 1.1.0 removes), hooli replaces the object wholesale.
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', 'account', '{"label": "Customer"}');
SET metadata.user_id = 'u1';
SELECT version FROM metadata.save('object', 'account', '{"fields": {"phone": {"label": "Tel."}, "rating": {"options": ["hot", "warm", "cold"]}}}', scope => 'user');
RESET metadata.user_id;
SET metadata.tenant_id = 'globex';
SELECT version FROM metadata.save('object', 'account', '{"fields": {"name": {"label": "Company name"}}}');
SET metadata.tenant_id = 'initech';
SELECT version FROM metadata.save('object', 'account', '{"label": "Company", "fields": {"name": {"label": "Account name"}}}');
SET metadata.tenant_id = 'hooli';
SELECT version FROM metadata.save('object', 'account', '{"name": "account", "label": "Hooli account"}', strategy => 'replace');
RESET metadata.tenant_id;

-- Upgrading needs metadata_admin; the bundle must be this package's.
SET ROLE regress_editor;
SELECT regress.fails($$SELECT metadata.upgrade_package('crm', bundle) FROM regress.crm WHERE version = '1.1.0'$$);
SET ROLE regress_admin;
SELECT regress.fails($$SELECT metadata.upgrade_package('nope', bundle) FROM regress.crm WHERE version = '1.1.0'$$);
SELECT regress.fails($$SELECT metadata.upgrade_package('crm', '{"package": {"id": "erp", "version": "2"}, "items": []}')$$);
SELECT regress.fails($$SELECT metadata.upgrade_package('crm', bundle, strategy => 'theirs') FROM regress.crm WHERE version = '1.1.0'$$);
SELECT regress.fails($$SELECT metadata.upgrade_package('crm', bundle, resolutions => '[{"type": "object"}]') FROM regress.crm WHERE version = '1.1.0'$$);
SELECT regress.fails($$SELECT metadata.upgrade_package('crm', bundle, resolutions => '[{"type": "object", "name": "account", "path": "label", "resolution": "custom"}]') FROM regress.crm WHERE version = '1.1.0'$$);

-- The dry run: every conflict (tenant, layer, path, the three values), in a stable order;
-- nothing written.
SELECT r ->> 'written' AS written, r ->> 'dry_run' AS dry_run, r -> 'counts' AS counts
FROM regress.crm, metadata.upgrade_package('crm', bundle, dry_run => true) AS r WHERE version = '1.1.0';
SELECT f ->> 'tenant_id' AS tenant, f ->> 'scope' AS scope, f ->> 'owner' AS owner, f ->> 'path' AS path,
       f -> 'old_base' AS old_base, f -> 'new_base' AS new_base, f -> 'custom' AS custom,
       f ->> 'kind' AS kind, f ->> 'outcome' AS outcome
FROM regress.crm, metadata.upgrade_package('crm', bundle, dry_run => true) AS r,
     jsonb_array_elements(r -> 'findings') AS f WHERE version = '1.1.0';
SELECT count(*) AS history_rows FROM metadata.sys_metadata_history;
-- Not a dry run: the conflicts abort it all.
SELECT r ->> 'written' AS written, r -> 'counts' AS counts
FROM regress.crm, metadata.upgrade_package('crm', bundle) AS r WHERE version = '1.1.0';
SELECT version FROM metadata.packages();

-- Resolved: acme keeps its label, globex takes the package's, u1 keeps its options.
SELECT r ->> 'written' AS written, r -> 'counts' AS counts
FROM regress.crm, metadata.upgrade_package('crm', bundle, resolutions => '[
  {"type": "object", "name": "account", "tenant_id": "acme", "path": "/label", "resolution": "custom"},
  {"type": "object", "name": "account", "tenant_id": "globex", "path": "/fields/name/label", "resolution": "incoming"},
  {"type": "object", "name": "account", "owner": "u1", "path": "/fields/rating", "resolution": "custom"}]') AS r
WHERE version = '1.1.0';
SELECT id, version, items FROM metadata.packages();
SELECT id, version, state FROM metadata.sys_metadata_package ORDER BY id, version;
RESET ROLE;
-- The stored overlays: minimal merge patches over the new base, none stale.
SELECT m.tenant_id, m.scope, m.owner, m.strategy, m.version, m.metadata
FROM metadata.sys_metadata m WHERE m.type = 'object' AND m.name = 'account' AND m.scope <> 'system'
ORDER BY m.tenant_id, m.scope, m.owner;
-- The effective documents after the upgrade, per tenant and user, and their layers.
SET metadata.tenant_id = 'acme';
SELECT metadata.effective('object', 'account');
SELECT scope, owner, version, stale FROM metadata.explain('object', 'account');
SET metadata.user_id = 'u1';
SELECT metadata.effective('object', 'account');
SELECT scope, owner, version, stale FROM metadata.explain('object', 'account');
RESET metadata.user_id;
SET metadata.tenant_id = 'globex';
SELECT metadata.effective('object', 'account') -> 'fields' -> 'name' AS name_field;
SET metadata.tenant_id = 'initech';
SELECT metadata.effective('object', 'account') ->> 'label' AS label;
SET metadata.tenant_id = 'hooli';
SELECT metadata.effective('object', 'account');
SELECT scope, version, stale FROM metadata.explain('object', 'account');
RESET metadata.tenant_id;
-- History and feed: op upgrade, with the change note.
SELECT tenant_id, type, name, scope, owner, op, version, note
FROM metadata.sys_metadata_history WHERE op = 'upgrade' ORDER BY id;
SELECT op, count(*) FROM metadata.changes_since(0) GROUP BY op ORDER BY op;

-- The same upgrade again changes nothing.
SET ROLE regress_admin;
SELECT (SELECT count(*) FROM metadata.sys_metadata_history) AS before;
SELECT r ->> 'written' AS written, r -> 'counts' AS counts
FROM regress.crm, metadata.upgrade_package('crm', bundle) AS r WHERE version = '1.1.0';
SELECT (SELECT count(*) FROM metadata.sys_metadata_history) AS after;

-- 1.2.0 relabels again. keep-custom keeps acme's label and reports it as masking the new
-- one (dry run); accept-incoming takes the package's and reports acme's as overwritten.
-- lead is no longer shipped: deprecated, and acme's overlay over it is reported orphaned.
RESET ROLE;
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', 'lead', '{"label": "Prospect"}');
RESET metadata.tenant_id;
SET ROLE regress_admin;
SELECT f ->> 'tenant_id' AS tenant, f ->> 'path' AS path, f -> 'custom' AS custom, f ->> 'outcome' AS outcome
FROM regress.crm, metadata.upgrade_package('crm', bundle, strategy => 'keep-custom', dry_run => true) AS r,
     jsonb_array_elements(r -> 'findings') AS f WHERE version = '1.2.0';
SELECT r -> 'counts' AS counts, r -> 'findings' -> 0 ->> 'outcome' AS outcome,
       (SELECT jsonb_agg(i) FROM jsonb_array_elements(r -> 'items') i WHERE i ->> 'status' <> 'unchanged') AS items,
       (SELECT jsonb_agg(o) FROM jsonb_array_elements(r -> 'overlays') o WHERE o ->> 'status' = 'orphaned') AS orphaned
FROM regress.crm, metadata.upgrade_package('crm', bundle, strategy => 'accept-incoming') AS r WHERE version = '1.2.0';
RESET ROLE;
SET metadata.tenant_id = 'acme';
SELECT metadata.effective('object', 'account') ->> 'label' AS label;
SELECT metadata FROM metadata.get('object', 'account');
RESET metadata.tenant_id;
SELECT type, name, state, package_version FROM metadata.sys_metadata WHERE scope = 'system' ORDER BY type, name;

-- Every resulting effective document is checked: a resolution that makes globex's view
-- invalid for its strict type aborts the upgrade with the error in the report.
SET metadata.tenant_id = 'globex';
SELECT version FROM metadata.save('view', 'accounts', '{"columns": ["name"], "options": {"b": true}}');
RESET metadata.tenant_id;
SET ROLE regress_admin;
SELECT r ->> 'written' AS written, r -> 'error' ->> 'sqlstate' AS sqlstate, r -> 'error' ->> 'message' AS message
FROM metadata.upgrade_package('crm', '{"package": {"id": "crm", "version": "1.3.0"}, "items": [
  {"type": "object", "name": "account", "metadata": {"name": "account", "label": "Organisation",
     "fields": {"name": {"type": "text", "label": "Account name"}, "phone": {"type": "phone", "label": "Phone"}}}},
  {"type": "view", "name": "accounts", "metadata": {"object": "account", "columns": ["phone"]}}]}',
  resolutions => '[{"type": "view", "name": "accounts", "path": "/columns", "resolution": "value", "value": 7}]') AS r;
SELECT r ->> 'written' AS written, r -> 'findings' -> 0 ->> 'path' AS path
FROM metadata.upgrade_package('crm', '{"package": {"id": "crm", "version": "1.3.0"}, "items": [
  {"type": "object", "name": "account", "metadata": {"name": "account", "label": "Organisation",
     "fields": {"name": {"type": "text", "label": "Account name"}, "phone": {"type": "phone", "label": "Phone"}}}},
  {"type": "view", "name": "accounts", "metadata": {"object": "account", "columns": ["phone"]}}]}',
  dry_run => true) AS r;
SELECT version FROM metadata.packages();

-- publish_package: the package's drafts go live together (change note recorded);
-- revert_package returns them to the versions before.
SELECT version, state FROM metadata.save('object', 'account', '{"label": "Org"}', scope => 'system', state => 'draft');
SELECT version, state FROM metadata.save('view', 'accounts', '{"columns": ["name"]}', scope => 'system', state => 'draft');
SELECT p -> 'published' AS published FROM metadata.publish_package('crm', 'release 1.2.1') AS p;
SELECT type, name, state, version, metadata ->> 'label' AS label, metadata -> 'columns' AS columns
FROM metadata.sys_metadata WHERE scope = 'system' AND state <> 'deprecated' ORDER BY type, name;
SELECT type, op, version, note FROM metadata.sys_metadata_history WHERE op = 'publish' ORDER BY id;
SELECT published FROM metadata.packages();
SELECT p -> 'reverted' AS reverted FROM metadata.revert_package('crm') AS p;
SELECT type, name, version, metadata ->> 'label' AS label, metadata -> 'columns' AS columns
FROM metadata.sys_metadata WHERE scope = 'system' AND state <> 'deprecated' ORDER BY type, name;
SELECT regress.fails($$SELECT metadata.revert_package('crm')$$);
-- A publish that would leave an effective document invalid publishes nothing: the draft
-- is valid, but globex's overlay adds a third option.
SELECT version FROM metadata.save('view', 'accounts', '{"object": "account", "columns": ["name"], "options": {"a": 1, "c": 1}}', scope => 'system', state => 'draft');
SELECT regress.fails_verbose($$SELECT metadata.publish_package('crm')$$);
SELECT count(*) AS drafts FROM metadata.sys_metadata WHERE state = 'draft';

-- Uninstall: the system rows are archived, customisations too unless kept.
SELECT regress.fails($$SELECT metadata.uninstall_package('nope')$$);
SELECT metadata.uninstall_package('crm', keep_customisations => false);
SELECT count(*) AS installed FROM metadata.packages();
SELECT id, version, state FROM metadata.sys_metadata_package ORDER BY id, version;
RESET ROLE;
SELECT type, name, scope, tenant_id, owner, state FROM metadata.sys_metadata WHERE state <> 'draft'
ORDER BY type, name, scope, tenant_id, owner;
