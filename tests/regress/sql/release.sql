-- Releases (DESIGN §6): versions, the privileges rule, built-in type registrations.
\set SHOW_CONTEXT never
CALL regress.reset();

-- The installed SQL and the loaded library are the same version here.
SELECT extension = library AS same_version, extension ~ '^\d+\.\d+\.\d+$' AS semver FROM metadata.version();

-- The privileges rule: PUBLIC gets nothing; readers execute every function but the
-- SECURITY DEFINER ones; applying the rule again changes nothing, and keeps a
-- deployment's own grants.
SELECT count(*) AS public_routines FROM pg_proc p
WHERE p.pronamespace = 'metadata'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE');
SELECT count(*) FILTER (WHERE NOT has_function_privilege('metadata_reader', p.oid, 'EXECUTE')) AS withheld,
       bool_and(p.prosecdef OR p.proname = '_grant_privileges')
         FILTER (WHERE NOT has_function_privilege('metadata_reader', p.oid, 'EXECUTE')) AS only_definers
FROM pg_proc p WHERE p.pronamespace = 'metadata'::regnamespace;
GRANT EXECUTE ON FUNCTION metadata.checksum(jsonb) TO regress_outsider;
CREATE TEMP TABLE acl_before AS
SELECT p.oid::regprocedure::text AS object, p.proacl::text AS acl FROM pg_proc p WHERE p.pronamespace = 'metadata'::regnamespace
UNION ALL SELECT c.relname, c.relacl::text FROM pg_class c WHERE c.relnamespace = 'metadata'::regnamespace
UNION ALL SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname = 'metadata';
SELECT metadata._grant_privileges();
SELECT count(*) AS changed_acls FROM (
  SELECT p.oid::regprocedure::text AS object, p.proacl::text AS acl FROM pg_proc p WHERE p.pronamespace = 'metadata'::regnamespace
  UNION ALL SELECT c.relname, c.relacl::text FROM pg_class c WHERE c.relnamespace = 'metadata'::regnamespace
  UNION ALL SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname = 'metadata'
  EXCEPT SELECT * FROM acl_before) d;
SELECT has_function_privilege('regress_outsider', 'metadata.checksum(jsonb)', 'EXECUTE') AS own_grant_kept;
REVOKE EXECUTE ON FUNCTION metadata.checksum(jsonb) FROM regress_outsider;

-- A built-in type is customised exactly while its registration differs from the library's;
-- refreshing the built-in registrations keeps a customised one as it is.
SELECT name, customised FROM metadata.register_type('view', validation_mode => 'lenient', locked_paths => '{/name}');
SELECT metadata._sync_builtin_types() AS refreshed;
SELECT name, validation_mode, locked_paths, customised FROM metadata.sys_metadata_type WHERE name = 'view';
SELECT name, customised FROM metadata.register_type('view', validation_mode => 'strict', locked_paths => '{}');
UPDATE metadata.sys_metadata_type SET load_order = 5 WHERE name = 'page';
SELECT name, customised FROM metadata.sys_metadata_type WHERE name IN ('page', 'view') ORDER BY name;
-- A non-customised built-in type that differs (as after a library update) is refreshed.
SET session_replication_role = replica;
UPDATE metadata.sys_metadata_type SET schema = '{"type": "object"}' WHERE name = 'app';
RESET session_replication_role;
SELECT metadata._sync_builtin_types() AS refreshed;
SELECT schema = (SELECT b.schema FROM metadata._builtin_types() b WHERE b.name = 'app') AS app_refreshed,
       customised FROM metadata.sys_metadata_type WHERE name = 'app';
SELECT count(*) AS builtin, count(*) FILTER (WHERE customised) AS customised FROM metadata.sys_metadata_type WHERE builtin;
