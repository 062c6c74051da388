-- metadata: roles, privileges and row level security (DESIGN §5). Runs last in the
-- extension script, when every object exists.
--
-- Trust model: the tenant and user of a session come from the settings metadata.tenant_id
-- and metadata.user_id, set by the application that owns the connection (as for any
-- setting-based RLS). Within that context the database enforces the rest: a caller reads
-- global rows and its tenant's rows (user layers: its own only), writes only its tenant's
-- platform rows and its own user rows, and only metadata_admin writes global rows, system
-- rows and types. Superusers bypass row level security, as always in Postgres.

DO $roles$
BEGIN
    -- Roles are cluster-wide: a second database installing the extension reuses them.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'metadata_reader') THEN
        CREATE ROLE metadata_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'metadata_editor') THEN
        CREATE ROLE metadata_editor NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'metadata_admin') THEN
        CREATE ROLE metadata_admin NOLOGIN;
    END IF;
END
$roles$;
GRANT metadata_reader TO metadata_editor;
GRANT metadata_editor TO metadata_admin;
COMMENT ON ROLE metadata_reader IS 'metadata: effective and raw reads of global rows and of the caller''s tenant';
COMMENT ON ROLE metadata_editor IS 'metadata: also writes platform rows of its tenant and its own user rows';
COMMENT ON ROLE metadata_admin IS 'metadata: also writes system and global rows and registers types';

-- Nothing for PUBLIC: the roles get what they need.
REVOKE ALL ON SCHEMA metadata FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA metadata FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA metadata FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA metadata FROM PUBLIC;
GRANT USAGE ON SCHEMA metadata TO metadata_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA metadata TO metadata_reader;
GRANT SELECT ON metadata.sys_metadata, metadata.sys_metadata_history,
                metadata.sys_metadata_type TO metadata_reader;
GRANT INSERT, UPDATE, DELETE ON metadata.sys_metadata TO metadata_editor;
GRANT INSERT, UPDATE, DELETE ON metadata.sys_metadata_type TO metadata_admin;
-- History and the feed are written only by the extension's own trigger functions.
REVOKE EXECUTE ON FUNCTION metadata.sys_metadata_after_write(),
                           metadata.sys_metadata_history_publish() FROM metadata_reader;

-- Whether the caller may see a row of (tenant_id, scope, owner): global rows and its
-- tenant's; user rows only its own.
CREATE FUNCTION metadata._row_visible(tenant_id text, scope text, owner text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (tenant_id IS NULL OR tenant_id = metadata.current_tenant())
   AND (scope <> 'user' OR owner = metadata.current_user_id());

-- Whether the caller is a metadata_admin.
CREATE FUNCTION metadata._is_admin() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.pg_has_role(current_user, 'metadata_admin', 'MEMBER');

-- Whether the caller may write a row of (tenant_id, scope, owner): a visible row of its own
-- tenant (platform, or its own user row); global and system rows only as metadata_admin.
CREATE FUNCTION metadata._row_writable(tenant_id text, scope text, owner text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN metadata._row_visible(tenant_id, scope, owner)
   AND (tenant_id IS NOT NULL OR metadata._is_admin())
   AND (scope <> 'system' OR metadata._is_admin());
GRANT EXECUTE ON FUNCTION metadata._row_visible(text, text, text), metadata._is_admin(),
                          metadata._row_writable(text, text, text) TO metadata_reader;

ALTER TABLE metadata.sys_metadata ENABLE ROW LEVEL SECURITY;
ALTER TABLE metadata.sys_metadata FORCE ROW LEVEL SECURITY;
CREATE POLICY sys_metadata_read ON metadata.sys_metadata FOR SELECT
    USING (metadata._row_visible(tenant_id, scope, owner));
CREATE POLICY sys_metadata_insert ON metadata.sys_metadata FOR INSERT
    WITH CHECK (metadata._row_writable(tenant_id, scope, owner));
CREATE POLICY sys_metadata_update ON metadata.sys_metadata FOR UPDATE
    USING (metadata._row_writable(tenant_id, scope, owner))
    WITH CHECK (metadata._row_writable(tenant_id, scope, owner));
CREATE POLICY sys_metadata_delete ON metadata.sys_metadata FOR DELETE
    USING (metadata._row_writable(tenant_id, scope, owner));

ALTER TABLE metadata.sys_metadata_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE metadata.sys_metadata_history FORCE ROW LEVEL SECURITY;
CREATE POLICY sys_metadata_history_read ON metadata.sys_metadata_history FOR SELECT
    USING (metadata._row_visible(tenant_id, scope, owner));

-- PL/pgSQL bodies resolve names when they first run: pin the search_path of the public
-- ones so that a caller's search_path cannot put its own functions or operators in their
-- place. (The internal _helpers run inside them, under that pinned path; a SET clause on
-- every helper call would cost a save about a quarter of its speed.)
DO $pin$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_language l ON l.oid = p.prolang
             WHERE p.pronamespace = 'metadata'::regnamespace AND l.lanname = 'plpgsql'
               AND p.proconfig IS NULL AND p.proname !~ '^_' LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END
$pin$;
