-- Helpers the other regression tests share (they run after this one, in the same database).
-- The suite runs against a fresh installation or against an existing one (an updated
-- database, tests/upgrade/upgrade.sh): the extension is created only if missing, and each
-- test starts from regress.reset().
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS metadata;
RESET client_min_messages;
CREATE SCHEMA regress;
-- Runs sql and returns 'SQLSTATE: message' of the error it raises, or 'no error'.
CREATE FUNCTION regress.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'no error';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;
-- The same with the error's DETAIL and HINT (one line each).
CREATE FUNCTION regress.fails_verbose(sql text) RETURNS TABLE (sqlstate text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN EXECUTE sql; RETURN QUERY SELECT NULL::text, 'no error', NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  RETURN QUERY SELECT st, msg, det, hnt;
END $$;
-- Empties the extension's tables as a superuser (bypassing the triggers that keep history
-- append-only), restores the built-in types, and restarts the history's identity and the
-- feed, so that each test sees what a fresh CREATE EXTENSION gives.
CREATE PROCEDURE regress.reset() LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL session_replication_role = replica;
  DELETE FROM metadata.sys_metadata_history;
  DELETE FROM metadata.sys_metadata;
  DELETE FROM metadata.sys_metadata_reference;
  DELETE FROM metadata.sys_metadata_type;
  DELETE FROM metadata.sys_metadata_tenant_binding;
  DELETE FROM metadata.sys_metadata_package;
  SET LOCAL session_replication_role = origin;
  PERFORM metadata._sync_builtin_types();
  ALTER TABLE metadata.sys_metadata_history ALTER COLUMN id RESTART;
  DELETE FROM metadata.sys_metadata_feed;
END $$;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
-- Login-less roles for the security test (roles are cluster-wide: create them once).
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['regress_reader', 'regress_editor', 'regress_admin', 'regress_outsider'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;
