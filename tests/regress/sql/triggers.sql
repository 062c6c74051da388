-- The write trigger: for plain SQL writes as for save(), the extension decides version,
-- checksum, base and audit columns, and the same write rules apply.
\set SHOW_CONTEXT never
CALL regress.reset();
-- Layers, not schemas, are tested here first: no validation for objects.
SELECT name FROM metadata.register_type('object', validation_mode => 'off');

SET metadata.user_id = 'alice';
INSERT INTO metadata.sys_metadata (type, name, scope, metadata)
VALUES ('object', 'lead', 'system', '{"label": "Lead", "b": 2, "a": 1}');
SELECT version, checksum = metadata.checksum(metadata) AS checksum_ok, created_by, updated_by,
       tenant_id, owner, strategy, state, namespace, tags, base_checksum, base_version
FROM metadata.sys_metadata WHERE name = 'lead';

-- Every change bumps the version by one; who changed it is recorded.
SET metadata.user_id = 'bob';
UPDATE metadata.sys_metadata SET metadata = metadata || '{"label": "Prospect"}' WHERE name = 'lead';
UPDATE metadata.sys_metadata SET tags = '{crm}' WHERE name = 'lead';
SELECT version, checksum = metadata.checksum(metadata) AS checksum_ok, metadata ->> 'label' AS label,
       created_by, updated_by, updated_at >= created_at AS ordered
FROM metadata.sys_metadata WHERE name = 'lead';
-- An UPDATE that changes nothing keeps the version.
UPDATE metadata.sys_metadata SET metadata = metadata WHERE name = 'lead';
SELECT version FROM metadata.sys_metadata WHERE name = 'lead';

-- Maintained columns cannot be written (428C9 generated_always); nothing changes.
SELECT regress.fails($$UPDATE metadata.sys_metadata SET version = 99 WHERE name = 'lead'$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET version = 2147483647 WHERE name = 'lead'$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET checksum = 'sha256:forged' WHERE name = 'lead'$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET created_by = 'mallory' WHERE name = 'lead'$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET base_checksum = 'sha256:forged' WHERE name = 'lead'$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, checksum) VALUES ('object', 'x', '{}', 'sha256:0')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, version) VALUES ('object', 'x', '{}', 0)$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, version) VALUES ('object', 'x', '{}', 2147483647)$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, created_by) VALUES ('object', 'x', '{}', 'mallory')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, created_at) VALUES ('object', 'x', '{}', '2020-01-01')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, base_checksum) VALUES ('object', 'x', '{}', 'sha256:0')$$);
-- An UPDATE cannot move a row to another layer key.
SELECT regress.fails($$UPDATE metadata.sys_metadata SET name = 'lead2' WHERE name = 'lead'$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET scope = 'platform' WHERE name = 'lead'$$);
-- Only a restore (row_security = off, as pg_dump and pg_restore set it, by a login that
-- bypasses row level security) brings rows back with their versions and audit columns.
SET row_security = off;
INSERT INTO metadata.sys_metadata (type, name, metadata, version, checksum, created_by, created_at, updated_by, updated_at)
VALUES ('object', 'restored', '{"b": 1, "a": 2}', 7, metadata.checksum('{"a": 2, "b": 1}'), 'carol', '2020-01-01', 'dave', '2021-01-01');
RESET row_security;
SELECT version, created_by, created_at, updated_by, updated_at FROM metadata.sys_metadata WHERE name = 'restored';
SELECT count(*) AS restored_history FROM metadata.sys_metadata_history WHERE name = 'restored';
DELETE FROM metadata.sys_metadata WHERE name = 'restored';
SELECT version, checksum = metadata.checksum(metadata) AS checksum_ok FROM metadata.sys_metadata WHERE name = 'lead';

-- Constraints refuse impossible rows.
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'x', 'user', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, owner, metadata) VALUES ('object', 'x', 'platform', 'u1', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (tenant_id, type, name, scope, metadata) VALUES ('acme', 'object', 'x', 'system', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'x', 'tenant', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, state, metadata) VALUES ('object', 'x', 'deleted', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, strategy, metadata) VALUES ('object', 'x', 'patch', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata) VALUES ('object', 'x', '[1, 2]')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata) VALUES ('gadget', 'x', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata) VALUES ('object', 'x y', '{}')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata) VALUES ('', 'object', 'x', '{}')$$);
-- One live row per layer key (NULLS NOT DISTINCT), but a draft may sit beside it.
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'lead', 'system', '{}')$$);
INSERT INTO metadata.sys_metadata (type, name, scope, state, metadata) VALUES ('object', 'lead', 'system', 'draft', '{}');
SELECT base_version FROM metadata.sys_metadata WHERE name = 'lead' AND state = 'draft';
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, state, metadata) VALUES ('object', 'lead', 'system', 'draft', '{}')$$);
SELECT count(*) AS rows FROM metadata.sys_metadata;

-- Plain SQL writes obey the rules save() obeys: the type's JSON Schema (strict), locked
-- paths, extends cycles and missing parents; the overlay records what it was written over.
SELECT name FROM metadata.register_type('object', validation_mode => 'strict', locked_paths => '{/name}', force => true);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'bad', 'system', '{"name": 1}')$$);
INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'acct', 'system', '{"name": "acct", "fields": {}}');
SET metadata.tenant_id = 'acme';
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata) VALUES ('acme', 'object', 'acct', '{"name": "renamed"}')$$);
INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata) VALUES ('acme', 'object', 'acct', '{"label": "Account"}');
SELECT base_checksum = (SELECT checksum FROM metadata.sys_metadata WHERE name = 'acct' AND scope = 'system') AS base_is_system
FROM metadata.sys_metadata WHERE name = 'acct' AND tenant_id = 'acme';
SELECT regress.fails($$UPDATE metadata.sys_metadata SET metadata = '{"name": "renamed"}' WHERE name = 'acct' AND tenant_id = 'acme'$$);
RESET metadata.tenant_id;
SELECT name FROM metadata.register_type('view', validation_mode => 'off');
INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('view', 'v1', 'system', '{}');
INSERT INTO metadata.sys_metadata (type, name, scope, metadata, extends) VALUES ('view', 'v2', 'system', '{}', 'v1');
SELECT regress.fails($$UPDATE metadata.sys_metadata SET extends = 'v2' WHERE name = 'v1'$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, metadata, extends) VALUES ('view', 'v3', 'system', '{}', 'nowhere')$$);
SELECT name, version, extends FROM metadata.sys_metadata WHERE type = 'view' ORDER BY name;
