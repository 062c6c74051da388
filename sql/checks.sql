-- metadata: argument checks and layer lookups shared by the write functions. Part of the extension script (see src/lib.rs for the order).
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
    IF value !~ '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$' THEN
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

-- The (tenant_id, owner) of the layer a write at scope addresses, for the caller's context:
-- system rows are global and have no owner; platform rows belong to the caller's tenant;
-- user rows to the caller's tenant and to owner (default metadata.user_id).
-- Errors: 22023 unknown scope, owner given outside user scope, user scope without owner.
CREATE FUNCTION metadata._layer_key(scope text, owner text, OUT tenant_id text, OUT owner_id text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require_one_of(scope, 'scope', ARRAY['system', 'platform', 'user']);
    IF scope = 'user' THEN
        owner_id := coalesce(nullif(owner, ''), metadata.current_user_id());
        IF owner_id IS NULL THEN
            RAISE EXCEPTION 'a user-scope layer needs an owner'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass owner => ... or SET metadata.user_id.';
        END IF;
    ELSIF owner IS NOT NULL THEN
        RAISE EXCEPTION 'only user-scope layers have an owner (scope is %)', scope
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tenant_id := CASE WHEN scope = 'system' THEN NULL ELSE metadata.current_tenant() END;
END
$fn$;

-- The row of one layer key in the live states (active, deprecated; else the newest archived
-- row) or the draft state, locked FOR UPDATE; NULL when there is none.
CREATE FUNCTION metadata._lock_layer(p_type text, p_name text, p_tenant text, p_scope text,
                                     p_owner text, p_draft boolean)
RETURNS metadata.sys_metadata
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    found_id uuid;
    found_row metadata.sys_metadata;
BEGIN
    SELECT m.id INTO found_id
    FROM metadata._layer_rows(p_type, p_name, p_tenant, p_scope, p_owner) AS m
    WHERE (m.state = 'draft') = p_draft
    ORDER BY m.state = 'archived', m.updated_at DESC
    LIMIT 1;
    IF found_id IS NOT NULL THEN
        -- Re-checked on the newest row version once the lock is granted.
        SELECT * INTO found_row FROM metadata.sys_metadata m
        WHERE m.id = found_id AND (m.state = 'draft') = p_draft
        FOR UPDATE;
    END IF;
    RETURN found_row;
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

-- Re-raises an error with its SQLSTATE, a new message and its detail and hint, if any.
CREATE FUNCTION metadata._reraise(sqlstate text, message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF detail IS NOT NULL AND detail <> '' AND hint IS NOT NULL AND hint <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail, HINT = hint;
    ELSIF detail IS NOT NULL AND detail <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail;
    ELSIF hint IS NOT NULL AND hint <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, HINT = hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message;
    END IF;
END
$fn$;

-- Raises 40001 serialization_failure when expected is given and differs from actual
-- (0 = the layer does not exist).
CREATE FUNCTION metadata._check_version(expected integer, actual integer, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF expected IS NOT NULL AND expected <> coalesce(actual, 0) THEN
        RAISE EXCEPTION 'version conflict on %: expected version %, found %',
                        what, expected, coalesce(actual, 0)
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Read the layer again and retry with its current version.';
    END IF;
END
$fn$;

-- "object/account at scope platform (tenant acme)" for messages.
CREATE FUNCTION metadata._describe(p_type text, p_name text, p_scope text, p_tenant text,
                                   p_owner text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN format('%s/%s at scope %s', p_type, p_name, p_scope)
    || CASE WHEN p_tenant IS NULL THEN '' ELSE format(' of tenant %s', p_tenant) END
    || CASE WHEN p_owner IS NULL THEN '' ELSE format(' for user %s', p_owner) END;
