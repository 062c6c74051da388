-- metadata: types and validation (DESIGN §4 "Types", "Validation"). Part of the extension
-- script (see src/lib.rs for the order). Every function here is SECURITY INVOKER.

CREATE FUNCTION metadata.validate(type text, doc jsonb) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN metadata._validate(type, doc::text);
COMMENT ON FUNCTION metadata.validate(text, jsonb) IS
  'Validates doc against the JSON Schema of type: a jsonb array of {instance_path, '
  'schema_path, keyword, message} (JSON Pointers, RFC 6901), [] when valid or when the type '
  'has no schema. Errors: 22004 NULL, 42704 unknown type, 54000/54001 document limits.';

CREATE FUNCTION metadata.is_valid(type text, doc jsonb) RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN metadata._is_valid(type, doc::text);
COMMENT ON FUNCTION metadata.is_valid(text, jsonb) IS
  'Whether doc satisfies the JSON Schema of type. Errors: as metadata.validate.';

-- Raises 22023 unless pointers are JSON Pointers (RFC 6901).
CREATE FUNCTION metadata._require_pointers(pointers text[], what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    bad text;
BEGIN
    SELECT p INTO bad FROM unnest(pointers) AS p WHERE p IS NULL OR p !~ '^(/[^/]*)*$' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% must be JSON Pointers (RFC 6901), not "%"', what, coalesce(bad, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$fn$;

-- Raises 22023 unless reference_paths is [{"path": JSON Pointer, "type": type name}, ...].
CREATE FUNCTION metadata._require_reference_paths(reference_paths jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF jsonb_typeof(reference_paths) IS DISTINCT FROM 'array' OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(reference_paths) AS r
        WHERE jsonb_typeof(r) <> 'object'
           OR (SELECT count(*) FROM jsonb_object_keys(r)) <> 2
           OR jsonb_typeof(r -> 'path') IS DISTINCT FROM 'string'
           OR jsonb_typeof(r -> 'type') IS DISTINCT FROM 'string'
           OR r ->> 'path' !~ '^(/[^/]*)*$'
           OR NOT metadata._is_type_name(r ->> 'type')) THEN
        RAISE EXCEPTION 'reference_paths must be a JSON array of {"path": JSON Pointer, "type": type name}'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = left(reference_paths::text, 500);
    END IF;
END
$fn$;

CREATE FUNCTION metadata.register_type(
    name text,
    domain text DEFAULT NULL,
    schema jsonb DEFAULT NULL,
    validation_mode text DEFAULT NULL,
    locked_paths text[] DEFAULT NULL,
    reference_paths jsonb DEFAULT NULL,
    check_references boolean DEFAULT NULL,
    supports_overlay boolean DEFAULT NULL,
    allow_runtime_create boolean DEFAULT NULL,
    supports_versioning boolean DEFAULT NULL,
    load_order integer DEFAULT NULL,
    description text DEFAULT NULL,
    force boolean DEFAULT false
) RETURNS metadata.sys_metadata_type
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    cur metadata.sys_metadata_type;
    result metadata.sys_metadata_type;
BEGIN
    PERFORM metadata._require(register_type.name, 'name');
    IF NOT metadata._is_type_name(register_type.name) THEN
        RAISE EXCEPTION 'invalid type name "%"', left(register_type.name, 200)
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Type names are lower case: a letter, then letters, digits and "_" (at most 63).';
    END IF;
    SELECT * INTO cur FROM metadata.sys_metadata_type t WHERE t.name = register_type.name FOR UPDATE;
    IF cur.name IS NULL AND register_type.domain IS NULL THEN
        RAISE EXCEPTION 'a new type needs a domain' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass domain => ''data'', ''ui'', ''automation'', ''system'', ''security'' or ''ai''.';
    END IF;
    IF register_type.domain IS NOT NULL THEN
        PERFORM metadata._require_one_of(register_type.domain, 'domain',
            ARRAY['data', 'ui', 'automation', 'system', 'security', 'ai']);
    END IF;
    IF register_type.validation_mode IS NOT NULL THEN
        PERFORM metadata._require_one_of(register_type.validation_mode, 'validation_mode',
            ARRAY['strict', 'lenient', 'off']);
    END IF;
    IF register_type.locked_paths IS NOT NULL THEN
        PERFORM metadata._require_pointers(register_type.locked_paths, 'locked_paths');
    END IF;
    IF register_type.reference_paths IS NOT NULL THEN
        PERFORM metadata._require_reference_paths(register_type.reference_paths);
    END IF;
    IF register_type.schema IS NOT NULL THEN
        PERFORM metadata._check_schema(register_type.name, register_type.schema::text);
    END IF;
    INSERT INTO metadata.sys_metadata_type AS t
        (name, domain, description, schema, validation_mode, locked_paths, reference_paths,
         check_references, supports_overlay, allow_runtime_create, supports_versioning,
         load_order)
    VALUES (register_type.name,
            coalesce(register_type.domain, cur.domain),
            coalesce(register_type.description, cur.description),
            coalesce(register_type.schema, cur.schema),
            coalesce(register_type.validation_mode, cur.validation_mode, 'strict'),
            coalesce(register_type.locked_paths, cur.locked_paths, '{}'),
            coalesce(register_type.reference_paths, cur.reference_paths, '[]'),
            coalesce(register_type.check_references, cur.check_references, true),
            coalesce(register_type.supports_overlay, cur.supports_overlay, true),
            coalesce(register_type.allow_runtime_create, cur.allow_runtime_create, true),
            coalesce(register_type.supports_versioning, cur.supports_versioning, true),
            coalesce(register_type.load_order, cur.load_order, 100));
    SELECT * INTO result FROM metadata.sys_metadata_type t WHERE t.name = register_type.name;
    -- A new schema or mode for stored documents: revalidate them (every tenant's; not for
    -- mode off); a strict type refuses a change that they fail, unless force.
    IF cur.name IS NOT NULL
       AND (result.schema_checksum IS DISTINCT FROM cur.schema_checksum
            OR result.validation_mode IS DISTINCT FROM cur.validation_mode) THEN
        PERFORM metadata._check_registration(result.name, register_type.force);
    END IF;
    RETURN result;
END
$fn$;
COMMENT ON FUNCTION metadata.register_type(text, text, jsonb, text, text[], jsonb, boolean, boolean, boolean, boolean, integer, text, boolean) IS
  'Creates a type or changes an existing one; arguments left NULL keep their value (defaults '
  'for a new type: strict, no locked paths, no reference paths, overlays and runtime items '
  'allowed, load_order 100). schema: a JSON Schema (any draft; $ref only to '
  'urn:metadata:schema:<type> or the $id of a registered schema; true accepts everything). '
  'locked_paths: JSON Pointers overlays may not change. reference_paths: [{"path", "type"}] '
  'with * for every member; check_references: strict writes must name existing items there, '
  'checked at commit (default on; off for the built-in types). Takes effect for the next '
  'write in every session. A changed schema or mode revalidates the stored effective '
  'documents of every tenant (metadata.revalidate): when some fail, a strict type refuses '
  'the change (23514, the documents in DETAIL) unless force => true, otherwise a NOTICE '
  'says how many and which. Errors: 22004, 22023 (bad domain, mode, pointers, or an '
  'invalid or remote-referencing schema, with the reason), 42602 bad name, 23514.';

CREATE FUNCTION metadata.register_schemas(schemas jsonb, validation_mode text DEFAULT NULL,
                                          domain text DEFAULT NULL, force boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    entry record;
    n integer := 0;
    changed text[] := '{}';
BEGIN
    PERFORM metadata._require(schemas, 'schemas');
    IF jsonb_typeof(schemas) <> 'object' THEN
        RAISE EXCEPTION 'schemas must be a JSON object {type: JSON Schema}, not %', jsonb_typeof(schemas)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Store every schema first, then check each: schemas of one set may refer to each other.
    FOR entry IN SELECT key, value FROM jsonb_each(schemas) ORDER BY key LOOP
        IF NOT EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = entry.key)
           AND register_schemas.domain IS NULL THEN
            RAISE EXCEPTION 'type "%" is not registered', left(entry.key, 200)
                USING ERRCODE = 'undefined_object',
                      HINT = 'Pass domain => ... to register the new types of the set.';
        END IF;
        IF register_schemas.validation_mode IS NOT NULL THEN
            PERFORM metadata._require_one_of(register_schemas.validation_mode, 'validation_mode',
                ARRAY['strict', 'lenient', 'off']);
        END IF;
        PERFORM metadata.register_type(entry.key, domain => register_schemas.domain);
        UPDATE metadata.sys_metadata_type t
        SET schema = entry.value, validation_mode = coalesce(register_schemas.validation_mode, t.validation_mode)
        WHERE t.name = entry.key
          AND (t.schema, t.validation_mode) IS DISTINCT FROM
              (entry.value, coalesce(register_schemas.validation_mode, t.validation_mode));
        IF FOUND THEN
            changed := changed || entry.key;
        END IF;
        n := n + 1;
    END LOOP;
    FOR entry IN SELECT key, value FROM jsonb_each(schemas) ORDER BY key LOOP
        PERFORM metadata._check_schema(entry.key, entry.value::text);
    END LOOP;
    -- Then the stored documents of each changed type, against the whole new set.
    PERFORM metadata._check_registration(t, register_schemas.force) FROM unnest(changed) AS t;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION metadata.register_schemas(jsonb, text, text, boolean) IS
  'Installs a set of JSON Schemas {type: schema} (such as ObjectStack''s published schemas) '
  'all or nothing: each schema replaces its type''s schema (validation_mode too, when given); '
  'types not yet registered are created with domain (required then). Schemas of the set may '
  '$ref each other by $id. Stored documents of each changed type are revalidated as by '
  'register_type (strict: refused unless force => true). Returns the number of schemas. '
  'Errors: 22004, 22023 invalid schema, 42704 unknown type without domain, 23514.';

-- The dependency edges of a type's items follow its reference paths: a change (by
-- register_type, the built-in sync, or a plain UPDATE) rebuilds them (a rename moves them).
CREATE FUNCTION metadata.sys_metadata_type_after_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF OLD.name <> NEW.name THEN
        PERFORM metadata._rebuild_references(OLD.name);
    END IF;
    PERFORM metadata._rebuild_references(NEW.name);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER sys_metadata_type_after_update
    AFTER UPDATE ON metadata.sys_metadata_type
    FOR EACH ROW
    WHEN (OLD.reference_paths IS DISTINCT FROM NEW.reference_paths OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION metadata.sys_metadata_type_after_update();

-- The built-in registrations as sys_metadata_type holds them: one per ObjectStack type,
-- its schema, reference paths and locked paths from the library (src/schemas/), the
-- defaults for the rest (references recorded, not checked: apps name platform items).
CREATE FUNCTION metadata._builtin_registrations()
RETURNS TABLE (name text, domain text, description text, schema jsonb, validation_mode text,
               locked_paths text[], reference_paths jsonb, check_references boolean,
               supports_overlay boolean, allow_runtime_create boolean,
               supports_versioning boolean, load_order integer)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT b.name, b.domain, NULL::text, b.schema, 'strict', b.locked_paths, b.reference_paths,
           false, true, true, true, 100
    FROM metadata._builtin_types() AS b;
END;

-- Whether the registration t differs from the built-in one of its name (false for a name
-- that is not built in).
CREATE FUNCTION metadata._customised(t metadata.sys_metadata_type) RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT EXISTS (
        SELECT 1 FROM metadata._builtin_registrations() AS b
        WHERE b.name = t.name
          AND (b.domain, b.description, b.schema, b.validation_mode, b.locked_paths,
               b.reference_paths, b.check_references, b.supports_overlay,
               b.allow_runtime_create, b.supports_versioning, b.load_order)
              IS DISTINCT FROM
              (t.domain, t.description, t.schema, t.validation_mode, t.locked_paths,
               t.reference_paths, t.check_references, t.supports_overlay,
               t.allow_runtime_create, t.supports_versioning, t.load_order));
END;

-- Brings the built-in registrations to this library's: inserts the missing ones and
-- refreshes those nobody customised; a customised built-in type, and a user's type of the
-- same name, are kept as they are. Run by the install script and by every upgrade script.
-- Returns the number of registrations written.
CREATE FUNCTION metadata._sync_builtin_types() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    updated integer;
    inserted integer;
BEGIN
    UPDATE metadata.sys_metadata_type t
    SET domain = b.domain, description = b.description, schema = b.schema,
        validation_mode = b.validation_mode, locked_paths = b.locked_paths,
        reference_paths = b.reference_paths, check_references = b.check_references,
        supports_overlay = b.supports_overlay, allow_runtime_create = b.allow_runtime_create,
        supports_versioning = b.supports_versioning, load_order = b.load_order
    FROM metadata._builtin_registrations() AS b
    WHERE t.name = b.name AND t.builtin AND NOT t.customised AND metadata._customised(t);
    GET DIAGNOSTICS updated = ROW_COUNT;
    INSERT INTO metadata.sys_metadata_type
        (name, domain, description, schema, validation_mode, locked_paths, reference_paths,
         check_references, supports_overlay, allow_runtime_create, supports_versioning,
         load_order, builtin)
    SELECT b.name, b.domain, b.description, b.schema, b.validation_mode, b.locked_paths,
           b.reference_paths, b.check_references, b.supports_overlay, b.allow_runtime_create,
           b.supports_versioning, b.load_order, true
    FROM metadata._builtin_registrations() AS b
    WHERE NOT EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = b.name);
    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN updated + inserted;
END
$fn$;

SELECT metadata._sync_builtin_types();
