-- Helpers the other regression tests share (they run after this one, in the same database).
CREATE SCHEMA regress;
-- Runs sql and returns 'SQLSTATE: message' of the error it raises, or 'no error'.
CREATE FUNCTION regress.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'no error';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;
