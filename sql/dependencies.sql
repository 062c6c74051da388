-- metadata: dependencies, dependents and revalidation (DESIGN §4 "Catalog"). Part of the
-- extension script (see src/lib.rs for the order).

-- Dependencies (DESIGN §4 "Catalog"): from the types' reference paths, kept by the write
-- path as edges (metadata.sys_metadata_reference, src/pg/edges.rs; queried by
-- src/pg/dependencies.rs).
CREATE FUNCTION metadata.dependencies(type text, name text, depth integer DEFAULT 1)
RETURNS TABLE (depth integer, type text, name text, referrer_type text, referrer_name text,
               path text, found boolean)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT d.depth, d.type, d.name, d.referrer_type, d.referrer_name, d.path, d.found
    FROM metadata._dependencies(type, name, depth) AS d;
END;
COMMENT ON FUNCTION metadata.dependencies(text, text, integer) IS
  'What (type, name) depends on, for the caller: each item its effective document names at '
  'a reference path of its type (depth 1), then up to depth (1-32) what those name. One row '
  'per reference: the named item (type, name), referrer_type/referrer_name and path (JSON '
  'Pointer, RFC 6901) where it is named, and found: whether it exists for the caller. '
  'Errors: 22004, 22023 depth, 42704 unknown type.';

CREATE FUNCTION metadata.dependents(type text, name text, depth integer DEFAULT 1)
RETURNS TABLE (depth integer, type text, name text, path text, target_type text,
               target_name text)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT d.depth, d.type, d.name, d.path, d.target_type, d.target_name
    FROM metadata._dependents(type, name, depth) AS d;
END;
COMMENT ON FUNCTION metadata.dependents(text, text, integer) IS
  'What depends on (type, name), for the caller: each item whose effective document names '
  'it at a reference path (depth 1), then up to depth (1-32) what depends on those. One row '
  'per reference: the depending item (type, name), path (JSON Pointer) where it names '
  'target_type/target_name. Only layers the caller sees count (row level security). '
  'Errors: 22004, 22023 depth.';

-- Revalidation: the stored effective documents a type's schema now refuses.
CREATE FUNCTION metadata.revalidate(type text)
RETURNS TABLE (tenant_id text, owner text, name text, errors jsonb)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT r.tenant_id, r.owner, r.name, r.errors FROM metadata._revalidate(type, false) AS r;
END;
COMMENT ON FUNCTION metadata.revalidate(text) IS
  'The stored effective documents of type that do not satisfy its JSON Schema as registered '
  'now, among those the caller sees: one row per document (each item in the audience of each '
  'of its live layers: global, its tenant''s, a user''s), errors as metadata.validate gives '
  'them; no row: all valid. register_type and register_schemas run the same check over '
  'every tenant. Errors: 22004, 42704 unknown type.';
