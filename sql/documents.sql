-- metadata: document functions: checksum, canonical JSON, RFC 7396 merge. Part of the extension script (see src/lib.rs for the order).
-- Every function here is SECURITY INVOKER: it reads and writes with the caller's rights.

CREATE FUNCTION metadata.checksum(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._checksum(doc::text);
COMMENT ON FUNCTION metadata.checksum(jsonb) IS
  'sha256: + hex SHA-256 of the canonical JSON of doc (keys sorted, no whitespace). '
  'Errors: 54000 over 4 MiB, 54001 nested over 100 levels.';

CREATE FUNCTION metadata.canonical(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._canonical(doc::text);
COMMENT ON FUNCTION metadata.canonical(jsonb) IS
  'Canonical JSON text of doc: object keys sorted by code point, no whitespace, numbers as stored.';

CREATE FUNCTION metadata.merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN metadata._merge_patch(target::text, patch::text);
COMMENT ON FUNCTION metadata.merge_patch(jsonb, jsonb) IS
  'RFC 7396 JSON Merge Patch: patch applied to target (null deletes, objects merge, '
  'everything else replaces).';
