-- Helpers the other regression tests share (they run after this one, in the same database).
CREATE SCHEMA regress;
-- Runs sql and returns 'SQLSTATE: message' of the error it raises, or 'no error'.
CREATE FUNCTION regress.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'no error';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;
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
