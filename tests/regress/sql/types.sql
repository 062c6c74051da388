-- Types and validation (DESIGN §4 "Types", "Validation"): register_type, validate,
-- validation modes on save and bulk_save, locked paths, overlay rules, references, and a
-- schema change seen by another session.
\set SHOW_CONTEXT never
CALL regress.reset();

-- Built-in registrations: 42 types, each with a schema; strict; references recorded.
SELECT domain, count(*) AS types, count(schema) AS with_schema, bool_and(validation_mode = 'strict') AS strict
FROM metadata.sys_metadata_type GROUP BY domain ORDER BY domain;
SELECT reference_paths FROM metadata.sys_metadata_type WHERE name = 'view';

-- validate: JSON Pointers into the document and the schema; [] when valid.
SELECT metadata.validate('object', '{"name": "account", "fields": {"name": {"type": "text"}}}') AS valid;
SELECT e ->> 'instance_path' AS instance_path, e ->> 'keyword' AS keyword, e ->> 'schema_path' AS schema_path
FROM jsonb_array_elements(metadata.validate('object',
       '{"name": "Account Type", "label": 7, "fields": {"name": {"label": "Name"}, "owner": "user"}}')) AS e
ORDER BY 1, 2;
SELECT metadata.is_valid('view', '{"name": "all_accounts", "object": "account"}') AS ok,
       metadata.is_valid('view', '{"name": "all accounts"}') AS bad_name;
SELECT regress.fails($$SELECT metadata.validate('gadget', '{}')$$);
SELECT regress.fails($$SELECT metadata.validate(NULL, '{}')$$);
SELECT regress.fails($$SELECT metadata.validate('object', NULL)$$);
SELECT regress.fails($$SELECT metadata.validate('object', (repeat('[', 150) || repeat(']', 150))::jsonb)$$);

-- register_type: a new type with a schema; a type whose schema refers to it.
SELECT name, domain, validation_mode, schema_checksum IS NOT NULL AS has_checksum, builtin
FROM metadata.register_type('gadget', 'ui', schema => '{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "required": ["name", "size"],
  "properties": {"name": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"}, "size": {"type": "integer", "minimum": 1},
                 "color": {"enum": ["red", "blue"]}, "owner": {"type": "string", "format": "email"}}}');
SELECT name FROM metadata.register_type('gadget_set', 'ui', schema => '{
  "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "urn:metadata:schema:gadget"}}}}');
SELECT e ->> 'instance_path' AS instance_path, e ->> 'keyword' AS keyword
FROM jsonb_array_elements(metadata.validate('gadget_set', '{"items": [{"name": "a", "size": 1}, {"name": "b", "size": 0}]}')) AS e;
SELECT metadata.validate('gadget', '{"name": "g", "size": 2, "owner": "not an e-mail"}') -> 0 ->> 'keyword' AS format_checked;
-- Arguments left NULL keep their value.
SELECT name, domain, validation_mode, schema IS NOT NULL AS kept_schema
FROM metadata.register_type('gadget', validation_mode => 'lenient');

-- Bad registrations: rejected with the reason, nothing changed.
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', schema => '{"type": "no-such-type"}')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', schema => '{"$ref": "https://example.com/s.json"}')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', schema => '{"$ref": "file:///etc/passwd"}')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', schema => '{"pattern": "(unclosed"}')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', schema => '[1]')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'gui')$$);
SELECT regress.fails($$SELECT metadata.register_type('Widget', 'ui')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', validation_mode => 'loose')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', locked_paths => '{name}')$$);
SELECT regress.fails($$SELECT metadata.register_type('widget', 'ui', reference_paths => '[{"path": "/object"}]')$$);
SELECT regress.fails($$SELECT metadata.register_type(NULL, 'ui')$$);
SELECT count(*) AS widgets FROM metadata.sys_metadata_type WHERE name = 'widget';
-- A pathological pattern is bounded (a backtracking limit), not a hang.
SELECT name FROM metadata.register_type('slow', 'ui', schema => '{"properties": {"s": {"type": "string", "pattern": "^(a+)+\\1b$"}}}');
SELECT metadata.validate('slow', jsonb_build_object('s', repeat('a', 40))) -> 0 ->> 'keyword' AS keyword;

-- Validation on write: strict refuses (23514, errors in DETAIL), lenient warns, off is silent.
SELECT name FROM metadata.register_type('gadget', validation_mode => 'strict');
SELECT regress.fails($$SELECT metadata.save('gadget', 'g1', '{"name": "g1"}', scope => 'system')$$);
SELECT metadata.save('gadget', 'g1', '{"name": "g1", "size": 0}', scope => 'system');
SELECT count(*) AS saved FROM metadata.sys_metadata WHERE type = 'gadget';
SELECT name FROM metadata.register_type('gadget', validation_mode => 'lenient');
SELECT version FROM metadata.save('gadget', 'g1', '{"name": "g1", "size": 0}', scope => 'system');
SELECT name FROM metadata.register_type('gadget', validation_mode => 'off');
SELECT version FROM metadata.save('gadget', 'g1', '{"name": "g1", "size": -1}', scope => 'system');
-- Back to strict over a stored document that fails: refused (23514, the documents in
-- DETAIL) unless force; metadata.revalidate lists them, for anyone.
SELECT regress.fails($$SELECT metadata.register_type('gadget', validation_mode => 'strict')$$);
SELECT validation_mode FROM metadata.sys_metadata_type WHERE name = 'gadget';
SELECT tenant_id, owner, name, errors -> 0 ->> 'instance_path' AS path, errors -> 0 ->> 'keyword' AS keyword
FROM metadata.revalidate('gadget');
SELECT name FROM metadata.register_type('gadget', validation_mode => 'strict', force => true);
SELECT version FROM metadata.save('gadget', 'g1', '{"name": "g1", "size": 3, "color": "red"}', scope => 'system');
-- It is the effective document that is validated: a patch may be partial, but a patch that
-- breaks the result is refused.
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('gadget', 'g1', '{"color": "blue"}');
SELECT regress.fails($$SELECT metadata.save('gadget', 'g1', '{"size": null}')$$);
SELECT regress.fails($$SELECT metadata.save('gadget', 'g1', '{"color": "green"}')$$);
SELECT metadata.effective('gadget', 'g1');
-- bulk_save: strict failures listed per item with the SQLSTATE; all or nothing otherwise.
SELECT jsonb_pretty(metadata.bulk_save('[
  {"type": "gadget", "name": "g2", "metadata": {"name": "g2", "size": 1}},
  {"type": "gadget", "name": "g3", "metadata": {"name": "g3", "size": "big"}}
]', continue_on_error => true) - 'total');
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "gadget", "name": "g4", "metadata": {"name": "g4", "size": 1}},
                                                 {"type": "gadget", "name": "g5", "metadata": {"name": "g5"}}]')$$);
SELECT name FROM metadata.sys_metadata WHERE type = 'gadget' ORDER BY name, tenant_id NULLS FIRST;
-- bulk_save under lenient (saved, with a WARNING) and off (saved, silently).
SELECT name FROM metadata.register_type('gadget', validation_mode => 'lenient');
SELECT metadata.bulk_save('[{"type": "gadget", "name": "g6", "metadata": {"name": "g6", "size": "big"}}]') -> 'succeeded' AS succeeded;
SELECT name FROM metadata.register_type('gadget', validation_mode => 'off');
SELECT metadata.bulk_save('[{"type": "gadget", "name": "g7", "metadata": {"name": "g7"}}]') -> 'succeeded' AS succeeded;
SELECT count(*) AS failing, string_agg(name, ', ' ORDER BY name) AS names FROM metadata.revalidate('gadget');
SELECT name FROM metadata.register_type('gadget', validation_mode => 'strict', force => true);
RESET metadata.tenant_id;

-- Locked paths: overlays may not change them; the base may.
SELECT name, locked_paths FROM metadata.register_type('gadget', locked_paths => '{/size,/specs/voltage}');
SELECT version FROM metadata.save('gadget', 'lamp', '{"name": "lamp", "size": 2, "specs": {"voltage": 230, "watts": 40}}', scope => 'system');
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('gadget', 'lamp', '{"specs": {"watts": 60}, "color": "red"}');
SELECT regress.fails($$SELECT metadata.save('gadget', 'lamp', '{"size": 3}')$$);
SELECT regress.fails($$SELECT metadata.save('gadget', 'lamp', '{"specs": {"voltage": 110}}')$$);
SELECT regress.fails($$SELECT metadata.save('gadget', 'lamp', '{"name": "lamp", "size": 9}', strategy => 'replace')$$);
SET metadata.user_id = 'u1';
SELECT regress.fails($$SELECT metadata.save('gadget', 'lamp', '{"specs": null}', scope => 'user')$$);
RESET metadata.user_id;
RESET metadata.tenant_id;
SELECT version FROM metadata.save('gadget', 'lamp', '{"name": "lamp", "size": 3, "specs": {"voltage": 110, "watts": 40}}', scope => 'system');
SET metadata.tenant_id = 'acme';
SELECT metadata.effective('gadget', 'lamp');
RESET metadata.tenant_id;

-- Overlay and runtime-creation rules of a type.
SELECT name FROM metadata.register_type('fixture', 'data', supports_overlay => false, allow_runtime_create => false);
SELECT version FROM metadata.save('fixture', 'f1', '{"a": 1}', scope => 'system');
SET metadata.tenant_id = 'acme';
SELECT regress.fails($$SELECT metadata.save('fixture', 'f1', '{"a": 2}')$$);
SELECT regress.fails($$SELECT metadata.save('fixture', 'f2', '{"a": 2}')$$);
RESET metadata.tenant_id;

-- References (strict types with check_references): checked at commit, so a bundle may
-- name items it brings later; a missing item fails the commit and nothing is written.
SELECT name, check_references FROM metadata.register_type('board', 'ui',
  reference_paths => '[{"path": "/gadget", "type": "gadget"}, {"path": "/panels/*/gadget", "type": "gadget"}]');
SELECT metadata.bulk_save('[
  {"type": "board", "name": "b1", "metadata": {"gadget": "later", "panels": [{"gadget": "lamp"}]}, "scope": "system"},
  {"type": "gadget", "name": "later", "metadata": {"name": "later", "size": 1}, "scope": "system"}
]') -> 'succeeded' AS succeeded;
BEGIN;
SELECT version FROM metadata.save('board', 'b2', '{"panels": [{"gadget": "lamp"}, {"gadget": "nowhere"}]}', scope => 'system');
COMMIT;
SELECT name FROM metadata.sys_metadata WHERE type = 'board' ORDER BY name;
-- Built-in types record references but do not check them: apps name platform items.
SELECT version FROM metadata.save('view', 'v1', '{"name": "v1", "object": "sys_user"}', scope => 'system');

-- A schema changed (and committed) in one session is used by another on its next call.
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('dbname=%s host=%s port=%s', current_database(),
       current_setting('unix_socket_directories'), current_setting('port')));
SELECT * FROM dblink('other', $$SELECT metadata.is_valid('gadget', '{"name": "x", "size": 5}')$$) AS t(valid boolean);
SELECT name FROM metadata.register_type('gadget', schema => '{"type": "object", "properties": {"size": {"maximum": 4}}}');
SELECT * FROM dblink('other', $$SELECT metadata.is_valid('gadget', '{"name": "x", "size": 5}')$$) AS t(valid boolean);
SELECT * FROM dblink('other', $$SELECT metadata.save('gadget', 'x', '{"name": "x", "size": 5}', scope => 'system') IS NOT NULL$$) AS t(saved boolean);
SELECT name FROM metadata.register_type('gadget', schema => '{"type": "object", "properties": {"size": {"maximum": 10}}}');
SELECT * FROM dblink('other', $$SELECT (metadata.save('gadget', 'x', '{"name": "x", "size": 5}', scope => 'system')).version$$) AS t(version integer);
-- A referenced schema changes: the referring type's cached validator follows.
SELECT * FROM dblink('other', $$SELECT metadata.is_valid('gadget_set', '{"items": [{"size": 7}]}')$$) AS t(valid boolean);
SELECT name FROM metadata.register_type('gadget', schema => '{"type": "object", "properties": {"size": {"maximum": 6}}}');
SELECT * FROM dblink('other', $$SELECT metadata.is_valid('gadget_set', '{"items": [{"size": 7}]}')$$) AS t(valid boolean);
SELECT dblink_disconnect('other');

-- Two types may reference each other's schemas by URN (registered together), and a
-- schema that reaches itself without descending into the document is refused: it would
-- accept everything.
SELECT metadata.register_schemas('{"pair_a": {"type": "object", "properties": {"b": {"$ref": "urn:metadata:schema:pair_b"}}},
                                   "pair_b": {"type": "object", "properties": {"a": {"$ref": "urn:metadata:schema:pair_a"}}}}',
                                 domain => 'ui') AS registered;
SELECT metadata.is_valid('pair_a', '{"b": {"a": {"b": {}}}}') AS nested_ok,
       metadata.is_valid('pair_a', '{"b": {"a": 1}}') AS nested_bad;
SELECT regress.fails($$SELECT metadata.register_type('loop_x', 'ui', schema => '{"$ref": "#"}')$$);
SELECT regress.fails($$SELECT metadata.register_type('loop_y', 'ui', schema => '{"properties": {"a": {"allOf": [{"$ref": "#/properties/a"}]}}}')$$);
SELECT regress.fails($$SELECT metadata.register_schemas('{"loop_a": {"$ref": "urn:metadata:schema:loop_b"}, "loop_b": {"allOf": [{"$ref": "urn:metadata:schema:loop_a"}]}}', domain => 'ui')$$);
SELECT count(*) AS loop_types FROM metadata.sys_metadata_type WHERE name LIKE 'loop%';
-- Recursion through the document is fine.
SELECT (metadata.register_type('tree', 'ui', schema => '{"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}}')).name;
SELECT metadata.is_valid('tree', '{"children": [{"children": []}]}') AS tree_ok,
       metadata.is_valid('tree', '{"children": [1]}') AS tree_bad;
