-- Effective resolution (DESIGN §3): layers, tenants, users, replace, extends, drafts, staleness.
\set SHOW_CONTEXT never
CALL regress.reset();
-- Layers, not schemas, are tested here: no validation for the types used.
SELECT name, validation_mode FROM metadata.register_type('object', validation_mode => 'off')
UNION ALL SELECT name, validation_mode FROM metadata.register_type('view', validation_mode => 'off');

-- The four layers: system global, platform global, platform of the tenant, user of the tenant.
SELECT version FROM metadata.save('object', 'account',
  '{"label": "Account", "fields": {"name": {"type": "text", "label": "Name"}, "fax": {"type": "phone"}}, "icon": "building"}',
  scope => 'system');
SELECT version FROM metadata.save('object', 'account', '{"description": "Companies we work with"}');
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', 'account',
  '{"label": "Customer", "fields": {"fax": null, "tier": {"type": "select", "options": ["gold", "silver"]}}}');
SET metadata.user_id = 'u42';
SELECT version FROM metadata.save('object', 'account', '{"fields": {"name": {"label": "Company"}}, "icon": null}', scope => 'user');

SELECT jsonb_pretty(metadata.effective('object', 'account'));
SELECT ordinal, item, scope, tenant_id, owner, strategy, version, stale FROM metadata.explain('object', 'account');

-- Other audiences see other layers.
RESET metadata.user_id;
SELECT metadata.effective('object', 'account') -> 'fields' -> 'name' AS acme_without_user;
SET metadata.tenant_id = 'globex';
SET metadata.user_id = 'u42';
SELECT metadata.effective('object', 'account') ->> 'label' AS globex_label,
       metadata.effective('object', 'account') -> 'fields' ? 'fax' AS globex_has_fax;
SET metadata.tenant_id = '';
SELECT metadata.effective('object', 'account') ->> 'label' AS global_label,
       metadata.effective('object', 'account') ->> 'description' AS global_description;
RESET metadata.user_id;
RESET metadata.tenant_id;

-- A missing item is NULL; a runtime item may exist only in a tenant; a layer with nothing
-- below it is taken as stored (its nulls stay: there is nothing for them to delete).
SELECT metadata.effective('object', 'nothing') IS NULL AS missing_is_null;
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('object', 'acme_only', '{"label": "Runtime", "gone": null}');
SELECT metadata.effective('object', 'acme_only');
RESET metadata.tenant_id;
SELECT metadata.effective('object', 'acme_only') IS NULL AS invisible_globally;

-- replace discards everything below it.
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('view', 'account_list', '{"object": "account", "columns": ["name", "fax"], "sort": "name"}', scope => 'system');
SELECT version FROM metadata.save('view', 'account_list', '{"object": "account", "columns": ["name", "tier"], "keep": null}', strategy => 'replace');
SELECT metadata.effective('view', 'account_list');
SELECT ordinal, scope, strategy FROM metadata.explain('view', 'account_list');

-- extends: the parent's effective document is the starting point.
SELECT version FROM metadata.save('view', 'vip_accounts', '{"filters": [["tier", "=", "gold"]], "sort": "revenue"}', extends => 'account_list', scope => 'system');
SELECT metadata.effective('view', 'vip_accounts');
SELECT ordinal, item, scope, strategy FROM metadata.explain('view', 'vip_accounts');
SELECT count(*) AS items, array_agg(name ORDER BY name) AS names FROM metadata.effective_all('view');

-- Cycles and missing parents are refused at save and nothing is written.
SELECT version FROM metadata.save('view', 'v1', '{}', scope => 'system');
SELECT version FROM metadata.save('view', 'v2', '{}', scope => 'system', extends => 'v1');
SELECT regress.fails($$SELECT metadata.save('view', 'v1', '{}', scope => 'system', extends => 'v2')$$);
SELECT regress.fails($$SELECT metadata.save('view', 'v1', '{}', scope => 'system', extends => 'v1')$$);
SELECT regress.fails($$SELECT metadata.save('view', 'v3', '{}', extends => 'nowhere')$$);
SELECT name, version, extends FROM metadata.sys_metadata WHERE name IN ('v1', 'v2', 'v3') ORDER BY name;
-- Plain SQL cannot write a cycle either (the write trigger resolves the row); one written
-- around the triggers (session_replication_role = replica, a superuser's) is an error at
-- read time, not a hang.
SELECT regress.fails($$UPDATE metadata.sys_metadata SET extends = 'v2' WHERE name = 'v1'$$);
SET session_replication_role = replica;
UPDATE metadata.sys_metadata SET extends = 'v2' WHERE name = 'v1';
RESET session_replication_role;
SELECT regress.fails($$SELECT metadata.effective('view', 'v2')$$);
SELECT regress.fails($$SELECT * FROM metadata.explain('view', 'v1')$$);
SET session_replication_role = replica;
UPDATE metadata.sys_metadata SET extends = NULL WHERE name = 'v1';
RESET session_replication_role;

-- Drafts are ignored unless a preview is asked for.
SELECT state FROM metadata.save('object', 'account', '{"label": "Customer (new)"}', state => 'draft');
SELECT metadata.effective('object', 'account') ->> 'label' AS live,
       metadata.effective('object', 'account', preview => true) ->> 'label' AS preview;
SELECT ordinal, scope, state FROM metadata.explain('object', 'account', preview => true);

-- Staleness: the package ships a new base; the overlay still applies and explain flags it.
SELECT version FROM metadata.save('object', 'account',
  '{"label": "Account", "fields": {"name": {"type": "text", "label": "Name"}, "fax": {"type": "phone"}, "site": {"type": "url"}}, "icon": "building"}',
  scope => 'system');
SELECT ordinal, scope, tenant_id, stale FROM metadata.explain('object', 'account');
SELECT metadata.effective('object', 'account') -> 'fields' ? 'site' AS has_new_field,
       metadata.effective('object', 'account') ->> 'label' AS label;
-- Saving the overlay again acknowledges the new base.
SELECT version FROM metadata.save('object', 'account', '{"label": "Customer", "fields": {"fax": null, "tier": {"type": "select", "options": ["gold", "silver"]}}}');
SELECT ordinal, scope, tenant_id, stale FROM metadata.explain('object', 'account');
