-- metadata: argument checks and layer lookups shared by the SQL functions. Part of the
-- extension script (see src/lib.rs for the order). The write path is in Rust
-- (src/pg/write.rs), and so are the layer-key rule (metadata._layer_key) and the wording of
-- a layer in messages (metadata._describe, src/pg/key.rs).
-- Every function here is SECURITY INVOKER: it reads and writes with the caller's rights.

-- Raises 22004 null_value_not_allowed when value is NULL.
CREATE FUNCTION metadata._require(value anyelement, what text) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN value;
END
$fn$;

-- Raises 22004 when value is NULL, 22023 invalid_parameter_value unless it is one of allowed.
CREATE FUNCTION metadata._require_one_of(value text, what text, allowed text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(value, what);
    IF NOT value = ANY (allowed) THEN
        RAISE EXCEPTION 'unknown % "%"', what, left(value, 200)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Use one of: %s.', array_to_string(allowed, ', '));
    END IF;
    RETURN value;
END
$fn$;

-- Raises 42602 invalid_name unless name is a machine name.
CREATE FUNCTION metadata._require_name(value text, what text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(value, what);
    IF NOT metadata._is_machine_name(value) THEN
        RAISE EXCEPTION 'invalid % "%"', what, left(value, 200)
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Names start with a letter or "_" and contain only letters, digits, "_", "." and "-" (at most 128).';
    END IF;
    RETURN value;
END
$fn$;

-- Raises 42704 undefined_object unless the type is registered.
CREATE FUNCTION metadata._require_type(value text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(value, 'type');
    IF NOT EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = value) THEN
        RAISE EXCEPTION 'metadata type "%" is not registered', left(value, 200)
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with metadata.register_type, or see metadata.sys_metadata_type.';
    END IF;
    RETURN value;
END
$fn$;



-- Every row (any state) of one layer key. Each branch matches the whole index key
-- (tenant_id, type, name, scope, owner); the parameters pick the one branch that runs.
CREATE FUNCTION metadata._layer_rows(p_type text, p_name text, p_tenant text, p_scope text,
                                     p_owner text)
RETURNS SETOF metadata.sys_metadata
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM metadata.sys_metadata m
    WHERE p_tenant IS NULL AND p_owner IS NULL AND m.tenant_id IS NULL AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner IS NULL
    UNION ALL
    SELECT * FROM metadata.sys_metadata m
    WHERE p_tenant IS NULL AND m.tenant_id IS NULL AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner = p_owner
    UNION ALL
    SELECT * FROM metadata.sys_metadata m
    WHERE p_owner IS NULL AND m.tenant_id = p_tenant AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner IS NULL
    UNION ALL
    SELECT * FROM metadata.sys_metadata m
    WHERE m.tenant_id = p_tenant AND m.type = p_type
      AND m.name = p_name AND m.scope = p_scope AND m.owner = p_owner;
END;



