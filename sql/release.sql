-- metadata: versions (DESIGN §6). Part of the extension script (see src/lib.rs for the order).

CREATE FUNCTION metadata.version(OUT extension text, OUT library text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT e.extversion, metadata._library_version()
    FROM pg_catalog.pg_extension e WHERE e.extname = 'metadata';
END;
COMMENT ON FUNCTION metadata.version() IS
  'The version of the extension''s SQL installed in this database (extension) and of the '
  'loaded library (library). They differ after the library is replaced until ALTER '
  'EXTENSION metadata UPDATE runs; the library keeps serving the older SQL meanwhile.';
