-- Bad input: each gets a clear ERROR with a SQLSTATE, and nothing is half-written.
\set SHOW_CONTEXT never
CALL regress.reset();
-- Layers, not schemas, are tested here: no validation for the types used.
SELECT name, validation_mode FROM metadata.register_type('object', validation_mode => 'off')
UNION ALL SELECT name, validation_mode FROM metadata.register_type('view', validation_mode => 'off');
SELECT version FROM metadata.save('object', 'account', '{"label": "Account"}', scope => 'system');

-- NULL arguments (22004).
SELECT regress.fails($$SELECT metadata.save(NULL, 'a', '{}')$$);
SELECT regress.fails($$SELECT metadata.save('object', NULL, '{}')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', NULL)$$);
SELECT regress.fails($$SELECT metadata.effective(NULL, 'a')$$);
SELECT regress.fails($$SELECT metadata.effective('object', NULL)$$);
SELECT regress.fails($$SELECT * FROM metadata.effective_all(NULL)$$);
SELECT regress.fails($$SELECT * FROM metadata.explain('object', NULL)$$);
SELECT regress.fails($$SELECT metadata.bulk_save(NULL)$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', scope => NULL)$$);

-- Unknown type (42704), scope, state, strategy, on_conflict (22023).
SELECT regress.fails($$SELECT metadata.save('gadget', 'a', '{}')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', scope => 'tenant')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', state => 'archived')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', strategy => 'patch')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', on_conflict => 'ignore')$$);

-- Owners: required for user scope, refused elsewhere (22023).
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', scope => 'user')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', owner => 'u1')$$);

-- Non-object documents (22023), including for a merge overlay.
SELECT regress.fails($$SELECT metadata.save('object', 'a', '[1, 2]')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '"text"')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', 'null')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'account', '42', strategy => 'merge')$$);

-- Names with quotes or SQL metacharacters (42602): refused, stored nowhere, no SQL runs.
SELECT regress.fails(format('SELECT metadata.save(%L, %L, %L)', 'object', n, '{}'))
FROM unnest(ARRAY[$q$x'; DROP TABLE metadata.sys_metadata; --$q$, 'a"b', 'a b', 'a;b', '', '1abc',
                  repeat('n', 129), E'tab\there', 'ünïcode']) AS n;
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', extends => 'x''y')$$);
SELECT regress.fails($$SELECT metadata.save('object', 'a', '{}', namespace => 'a b')$$);
-- Unknown names read as nothing; no error, no injection.
SELECT metadata.effective('object', $q$x' OR '1'='1$q$) IS NULL AS nothing_found,
       metadata.exists('object', $q$x' OR '1'='1$q$) AS exists;
-- Metacharacters in tenant and user settings are plain values.
SET metadata.tenant_id = $q$acme'; DROP TABLE metadata.sys_metadata; --$q$;
SELECT tenant_id FROM metadata.save('object', 'account', '{"label": "Quoted tenant"}');
SELECT metadata.effective('object', 'account') ->> 'label' AS label;
RESET metadata.tenant_id;

-- A document nested 10,000 deep and a 20 MB document (54001, 54000).
SELECT regress.fails($$SELECT metadata.save('object', 'deep', (repeat('{"a":', 10000) || '1' || repeat('}', 10000))::jsonb)$$);
SELECT regress.fails($$SELECT metadata.save('object', 'deep', ('{"k": ' || repeat('[', 100) || repeat(']', 100) || '}')::jsonb)$$);
SELECT regress.fails($$SELECT metadata.save('object', 'big', jsonb_build_object('x', repeat('a', 20 * 1024 * 1024)))$$);
-- Plain SQL goes through the same checks (the trigger).
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata) VALUES ('object', 'big', jsonb_build_object('x', repeat('a', 20 * 1024 * 1024)))$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET metadata = (repeat('{"a":', 200) || '1' || repeat('}', 200))::jsonb WHERE name = 'account'$$);

-- bulk_save with bad shapes (22023) and bad values inside items.
SELECT regress.fails($$SELECT metadata.bulk_save('{"items": []}')$$);
SELECT regress.fails($$SELECT metadata.bulk_save('[1]')$$);
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "object", "name": "a", "metadata": {}, "tags": "x"}]')$$);
SELECT regress.fails($$SELECT metadata.bulk_save('[{"type": "object", "name": "a", "metadata": {}, "expected_version": "one"}]')$$);

-- Nothing of the above was written.
SELECT name, scope, tenant_id, version FROM metadata.sys_metadata ORDER BY name, tenant_id NULLS FIRST;
