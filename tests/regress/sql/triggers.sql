-- The write trigger keeps version, checksum and audit columns true for plain SQL too.
\set SHOW_CONTEXT never
CALL regress.reset();

SET metadata.user_id = 'alice';
INSERT INTO metadata.sys_metadata (type, name, scope, metadata)
VALUES ('object', 'lead', 'system', '{"label": "Lead", "b": 2, "a": 1}');
SELECT version, checksum = metadata.checksum(metadata) AS checksum_ok, created_by, updated_by,
       tenant_id, owner, strategy, state, namespace, tags
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
SELECT regress.fails($$UPDATE metadata.sys_metadata SET checksum = 'sha256:forged' WHERE name = 'lead'$$);
SELECT regress.fails($$UPDATE metadata.sys_metadata SET created_by = 'mallory' WHERE name = 'lead'$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, checksum) VALUES ('object', 'x', '{}', 'sha256:0')$$);
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, metadata, version) VALUES ('object', 'x', '{}', 0)$$);
-- An INSERT may carry version, audit columns and the right checksum: what pg_restore does.
INSERT INTO metadata.sys_metadata (type, name, metadata, version, checksum, created_by, created_at, updated_by, updated_at)
VALUES ('object', 'restored', '{"b": 1, "a": 2}', 7, metadata.checksum('{"a": 2, "b": 1}'), 'carol', '2020-01-01', 'dave', '2021-01-01');
SELECT version, created_by, created_at, updated_by, updated_at FROM metadata.sys_metadata WHERE name = 'restored';
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
SELECT regress.fails($$INSERT INTO metadata.sys_metadata (type, name, scope, state, metadata) VALUES ('object', 'lead', 'system', 'draft', '{}')$$);
SELECT count(*) AS rows FROM metadata.sys_metadata;
