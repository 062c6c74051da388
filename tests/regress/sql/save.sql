-- Writing items: save, get, delete, exists, publish (DESIGN §4 "Items", "Concurrency").
\set SHOW_CONTEXT never
CALL regress.reset();
-- Layers, not schemas, are tested here: no validation for the types used.
SELECT name, validation_mode FROM metadata.register_type('object', validation_mode => 'off')
UNION ALL SELECT name, validation_mode FROM metadata.register_type('view', validation_mode => 'off');

-- A system base layer: global, version 1, checksum of the canonical JSON, nothing below.
SELECT tenant_id, scope, owner, strategy, state, version, checksum = metadata.checksum(metadata) AS checksum_ok,
       base_checksum, namespace, source, managed_by
FROM metadata.save('object', 'account', '{"name": "account", "label": "Account", "fields": {"name": {"type": "text"}}}',
                   scope => 'system', namespace => 'crm', source => 'filesystem', managed_by => 'package');

-- A tenant's platform overlay records the checksum of what it was written over.
SET metadata.tenant_id = 'acme';
SELECT tenant_id, scope, version, base_checksum IS NOT NULL AS has_base
FROM metadata.save('object', 'account', '{"label": "Customer"}');
SELECT base_checksum = (SELECT checksum FROM metadata.sys_metadata WHERE scope = 'system') AS base_is_system_checksum
FROM metadata.get('object', 'account');

-- Saving what is stored changes nothing, not even the version.
SELECT version FROM metadata.save('object', 'account', '{"label": "Customer"}');
-- A change bumps the version; get returns the raw layer (the patch, not the effective document).
SELECT version, metadata FROM metadata.save('object', 'account', '{"label": "Client"}');
SELECT version, metadata FROM metadata.get('object', 'account');
SELECT version, metadata ->> 'label' AS label FROM metadata.get('object', 'account', 'system');

-- expected_version: a mismatch is 40001 serialization_failure; 0 means "must not exist".
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"label": "X"}', expected_version => 1)$$);
SELECT version FROM metadata.save('object', 'account', '{"label": "Client 2"}', expected_version => 2);
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"label": "X"}', expected_version => 0)$$);
SELECT version FROM metadata.save('object', 'contact', '{"label": "Contact"}', expected_version => 0);

-- on_conflict: error, skip, update (keeps attributes not given), replace (resets them).
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"label": "X"}', on_conflict => 'error')$$);
SELECT version, metadata ->> 'label' AS label FROM metadata.save('object', 'account', '{"label": "X"}', on_conflict => 'skip');
SELECT version, strategy, tags FROM metadata.save('object', 'account', '{"label": "T"}', strategy => 'replace', tags => '{vip}');
SELECT version, strategy, tags FROM metadata.save('object', 'account', '{"label": "U"}');
SELECT version, strategy, tags FROM metadata.save('object', 'account', '{"label": "R"}', on_conflict => 'replace');

-- User layers belong to their owner (default: metadata.user_id).
SELECT regress.fails($$SELECT metadata.save('object', 'account', '{"a": 1}', scope => 'user')$$);
SET metadata.user_id = 'u42';
SELECT tenant_id, scope, owner FROM metadata.save('object', 'account', '{"fields": {"name": {"width": 120}}}', scope => 'user');
SELECT tenant_id, scope, owner FROM metadata.save('object', 'account', '{"fields": {"name": {"width": 80}}}', scope => 'user', owner => 'u7');
SELECT owner, metadata FROM metadata.sys_metadata WHERE scope = 'user' ORDER BY owner;

-- delete archives the layer (version + 1); exists follows; a later save revives the same row.
SELECT metadata.exists('object', 'contact') AS exists_before, metadata.exists('object', 'contact', 'platform') AS layer_before;
SELECT metadata.delete('object', 'contact') AS deleted, metadata.delete('object', 'contact') AS deleted_again;
SELECT state, version FROM metadata.sys_metadata WHERE name = 'contact';
SELECT metadata.exists('object', 'contact') AS exists_after, metadata.effective('object', 'contact') AS effective_after;
SELECT state, version, metadata FROM metadata.save('object', 'contact', '{"label": "Person"}');
SELECT count(*) AS contact_rows FROM metadata.sys_metadata WHERE name = 'contact';
SELECT regress.fails($$SELECT metadata.delete('object', 'contact', expected_version => 1)$$);

-- Drafts: a pending change beside the live row; preview shows it; publish promotes it.
SELECT state, version FROM metadata.save('object', 'contact', '{"label": "Contact (draft)"}', state => 'draft');
SELECT metadata.effective('object', 'contact') ->> 'label' AS live,
       metadata.effective('object', 'contact', preview => true) ->> 'label' AS preview;
SELECT state, version, metadata ->> 'label' AS label FROM metadata.publish('object', 'contact');
SELECT state, count(*) FROM metadata.sys_metadata WHERE name = 'contact' GROUP BY state;
SELECT regress.fails($$SELECT metadata.publish('object', 'contact')$$);
-- A draft does not silently drop a change made to the live layer after it was saved.
SELECT state FROM metadata.save('object', 'contact', '{"label": "Contact v5"}', state => 'draft');
SELECT version FROM metadata.save('object', 'contact', '{"label": "Contact (draft)", "icon": "user"}');
SELECT regress.fails($$SELECT metadata.publish('object', 'contact')$$);
SELECT state FROM metadata.save('object', 'contact', '{"label": "Contact v5", "icon": "user"}', state => 'draft');
SELECT version, metadata FROM metadata.publish('object', 'contact');
SELECT state FROM metadata.save('object', 'contact', '{"label": "Contact v6"}', state => 'draft');
SELECT version FROM metadata.save('object', 'contact', '{"label": "Contact", "icon": "user"}');
SELECT version, metadata FROM metadata.publish('object', 'contact', force => true);
-- A draft of a new item publishes into a new live row.
SELECT state FROM metadata.save('view', 'contact_list', '{"object": "contact"}', state => 'draft');
SELECT metadata.effective('view', 'contact_list') IS NULL AS hidden_until_published;
SELECT state, version FROM metadata.publish('view', 'contact_list');

-- bulk_save: a report; all or nothing unless continue_on_error.
SELECT jsonb_pretty(metadata.bulk_save('[
  {"type": "object", "name": "lead", "metadata": {"label": "Lead"}, "scope": "system"},
  {"type": "view", "name": "lead_list", "metadata": {"object": "lead"}, "tags": ["crm"]},
  {"type": "object", "name": "bad name", "metadata": {}},
  {"type": "object", "name": "case", "metadata": {}, "tenant_id": "globex"},
  {"type": "gadget", "name": "g", "metadata": {}}
]', continue_on_error => true));
SELECT name, tags FROM metadata.sys_metadata WHERE name IN ('lead', 'lead_list', 'case', 'g') ORDER BY name;
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "object", "name": "opportunity", "metadata": {}}, {"type": "object", "name": "x", "metadata": []}]')$$);
SELECT count(*) AS opportunity_rows FROM metadata.sys_metadata WHERE name = 'opportunity';
SELECT metadata.bulk_save('[{"type": "object", "name": "opportunity", "metadata": {}}]');
SELECT metadata.bulk_save('[]');

-- Tags are text: bulk_save refuses a non-string or null tag, save a NULL element.
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "object", "name": "tagged", "metadata": {}, "tags": ["a", 1]}]')$$);
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "object", "name": "tagged", "metadata": {}, "tags": [null]}]')$$);
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "object", "name": "tagged", "metadata": {}, "tags": "a"}]')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'tagged', '{}', tags => ARRAY['a', NULL])$$);

-- expected_checksum: the checksum the caller read (NULL = must not exist); a mismatch is
-- 40001, as for expected_version. It works for save, publish, delete and rollback.
SELECT checksum AS read_checksum FROM metadata.save('object', 'opt', '{"v": 1}', expected_checksum => NULL) \gset
SELECT regress.fails($$SELECT metadata.save('object', 'opt', '{"v": 2}', expected_checksum => NULL)$$);
SELECT regress.fails($$SELECT metadata.save('object', 'opt', '{"v": 2}', expected_checksum => 'sha256:stale')$$);
SELECT version FROM metadata.save('object', 'opt', '{"v": 2}', expected_checksum => :'read_checksum');
SELECT regress.fails(format($$SELECT metadata.delete('object', 'opt', expected_checksum => %L)$$, :'read_checksum'));
SELECT checksum AS draft_checksum FROM metadata.save('object', 'opt', '{"v": 3}', state => 'draft') \gset
SELECT regress.fails($$SELECT metadata.publish('object', 'opt', expected_checksum => 'sha256:stale')$$);
SELECT version, metadata FROM metadata.publish('object', 'opt', expected_checksum => :'draft_checksum');
SELECT regress.fails($$SELECT metadata.rollback('object', 'opt', 1, expected_checksum => NULL)$$);
SELECT version, metadata FROM metadata.rollback('object', 'opt', 1,
       expected_checksum => (SELECT checksum FROM metadata.get('object', 'opt')));
SELECT metadata.delete('object', 'opt', expected_checksum => (SELECT checksum FROM metadata.get('object', 'opt')));

-- One publish is one change: one history row (op publish), one feed position; the draft
-- row it consumed leaves no history row of its own.
SELECT state FROM metadata.save('object', 'pub', '{"v": 1}');
SELECT state FROM metadata.save('object', 'pub', '{"v": 2}', state => 'draft');
SELECT max(seq) AS before_publish FROM metadata.sys_metadata_history \gset
SELECT version FROM metadata.publish('object', 'pub');
SELECT op, state, version, seq - :before_publish AS seq_after FROM metadata.sys_metadata_history
WHERE name = 'pub' AND seq > :before_publish;
-- Saving the draft again over the current live layer acknowledges it, even unchanged.
SELECT state FROM metadata.save('object', 'pub', '{"v": 3}', state => 'draft');
SELECT version FROM metadata.save('object', 'pub', '{"v": 2, "live": true}');
SELECT regress.fails($$SELECT metadata.publish('object', 'pub')$$);
SELECT version, base_version FROM metadata.save('object', 'pub', '{"v": 3}', state => 'draft');
SELECT version, metadata FROM metadata.publish('object', 'pub');
