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

ALTER TABLE metadata.sys_metadata_reference ENABLE ROW LEVEL SECURITY;
ALTER TABLE metadata.sys_metadata_reference FORCE ROW LEVEL SECURITY;
CREATE POLICY sys_metadata_reference_read ON metadata.sys_metadata_reference FOR SELECT
    USING (metadata._row_visible(tenant_id, scope, owner));

-- Tenant binding (opt-in): the tenants a role may act for. A role with bindings (as the
-- login or the current role) may set metadata.tenant_id only to one of them (or leave it
-- unset: the global space); metadata.current_tenant() and the library's reads raise 42501
-- otherwise, so row level security follows the binding and the caller cannot switch it
-- off. Roles without bindings act for any tenant. Managed by metadata_admin.
CREATE TABLE metadata.sys_metadata_tenant_binding (
    role      regrole NOT NULL,
    tenant_id text NOT NULL CHECK (tenant_id <> '' AND length(tenant_id) <= 128),
    PRIMARY KEY (role, tenant_id)
);
COMMENT ON TABLE metadata.sys_metadata_tenant_binding IS
  'Tenant binding: a role listed here may act only for its tenants (metadata.bind_tenant).';
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_tenant_binding', '');
-- Every backend caches the bindings; a change reaches them at commit.
CREATE TRIGGER sys_metadata_tenant_binding_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metadata.sys_metadata_tenant_binding
    FOR EACH STATEMENT EXECUTE FUNCTION metadata.sys_metadata_tenant_binding_changed();

CREATE FUNCTION metadata.bind_tenant(role regrole, tenant_id text) RETURNS boolean
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH added AS (
        INSERT INTO metadata.sys_metadata_tenant_binding AS b (role, tenant_id)
        VALUES (bind_tenant.role, bind_tenant.tenant_id)
        ON CONFLICT DO NOTHING RETURNING 1)
    SELECT EXISTS (SELECT FROM added);
END;
COMMENT ON FUNCTION metadata.bind_tenant(regrole, text) IS
  'Binds role to tenant_id: from its first binding on, the role (as login or current role) '
  'may set metadata.tenant_id only to a tenant it is bound to. Returns false when the binding '
  'existed. Takes effect in every session at commit. Errors: 42501 unless metadata_admin, '
  '23514 empty tenant.';

CREATE FUNCTION metadata.unbind_tenant(role regrole, tenant_id text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH removed AS (
        DELETE FROM metadata.sys_metadata_tenant_binding AS b
        WHERE b.role = unbind_tenant.role
          AND (unbind_tenant.tenant_id IS NULL OR b.tenant_id = unbind_tenant.tenant_id)
        RETURNING 1)
    SELECT count(*)::integer FROM removed;
END;
COMMENT ON FUNCTION metadata.unbind_tenant(regrole, text) IS
  'Removes the binding of role to tenant_id (all its bindings when tenant_id is NULL: the '
  'role acts for any tenant again). Returns the number removed. Errors: 42501 unless '
  'metadata_admin.';

-- The privileges rule, written once: the install script and every upgrade script end by
-- calling it, so objects that a later version adds are covered too. PUBLIC gets nothing.
-- metadata_reader: USAGE on the schema, SELECT on the tables it reads (row level security
-- decides which rows of the tenant data) and on the view stats, EXECUTE on every function
-- of the schema except this one and any SECURITY DEFINER one (there is none: the library
-- writes history and the feed as the extension's owner).
-- metadata_editor (a reader): INSERT and UPDATE of sys_metadata, column by column (the
-- columns a caller may give; the write trigger maintains the others): with no table-wide
-- UPDATE or DELETE privilege, an editor cannot LOCK the table in a mode that would stall
-- other tenants' writers. metadata_admin (an editor): also DELETE of sys_metadata,
-- INSERT, UPDATE, DELETE of sys_metadata_type, and the tenant bindings.
-- Only privileges that differ from the rule are granted or revoked, and only for PUBLIC
-- and the extension's roles: a GRANT or REVOKE run by an update script records the
-- object's whole ACL as the extension's initial privileges (pg_init_privs), which pg_dump
-- leaves out, so touching an unchanged object would silently drop a deployment's own
-- grants on it from every later dump.
CREATE FUNCTION metadata._grant_privileges() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    g record;
BEGIN
    FOR g IN
        WITH objects(kind, object, acl, explicit) AS (
            SELECT 'SCHEMA', n.nspname::text, coalesce(n.nspacl, acldefault('n', n.nspowner)),
                   n.nspacl IS NOT NULL
            FROM pg_namespace n WHERE n.nspname = 'metadata'
            UNION ALL
            SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass::text,
                   coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
                   c.relacl IS NOT NULL
            FROM pg_class c
            WHERE c.relnamespace = 'metadata'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
            UNION ALL
            SELECT 'ROUTINE', p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f', p.proowner)),
                   p.proacl IS NOT NULL
            FROM pg_proc p WHERE p.pronamespace = 'metadata'::regnamespace),
        present(kind, object, grantee, privilege) AS (
            SELECT o.kind, o.object, coalesce(r.rolname::text, 'PUBLIC'), a.privilege_type
            FROM objects o, aclexplode(o.acl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE a.grantee = 0 OR r.rolname IN ('metadata_reader', 'metadata_editor', 'metadata_admin')
            UNION ALL
            -- Column privileges, as "INSERT (name)".
            SELECT 'TABLE', c.oid::regclass::text, coalesce(r.rolname::text, 'PUBLIC'),
                   a.privilege_type || ' (' || quote_ident(att.attname) || ')'
            FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid,
                 aclexplode(att.attacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE c.relnamespace = 'metadata'::regnamespace AND att.attnum > 0
              AND NOT att.attisdropped
              AND (a.grantee = 0 OR r.rolname IN ('metadata_reader', 'metadata_editor', 'metadata_admin'))),
        wanted(kind, object, grantee, privilege) AS (
            VALUES ('SCHEMA', 'metadata', 'metadata_reader', 'USAGE'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_history', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_reference', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_package', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.stats', 'metadata_reader', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata', 'metadata_admin', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_tenant_binding', 'metadata_admin', 'SELECT'),
                   ('TABLE', 'metadata.sys_metadata_tenant_binding', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_tenant_binding', 'metadata_admin', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'UPDATE'),
                   ('TABLE', 'metadata.sys_metadata_type', 'metadata_admin', 'DELETE'),
                   ('TABLE', 'metadata.sys_metadata_package', 'metadata_admin', 'INSERT'),
                   ('TABLE', 'metadata.sys_metadata_package', 'metadata_admin', 'UPDATE')
            UNION ALL
            SELECT 'TABLE', 'metadata.sys_metadata', 'metadata_editor', privilege || ' (' || col || ')'
            FROM unnest(ARRAY['INSERT', 'UPDATE']) AS privilege,
                 unnest(ARRAY['namespace', 'strategy', 'extends', 'metadata', 'state', 'tags',
                              'source', 'managed_by', 'package_id', 'package_version']) AS col
            UNION ALL
            SELECT 'TABLE', 'metadata.sys_metadata', 'metadata_editor', 'INSERT (' || col || ')'
            FROM unnest(ARRAY['tenant_id', 'type', 'name', 'scope', 'owner']) AS col
            UNION ALL
            SELECT 'ROUTINE', p.oid::regprocedure::text, 'metadata_reader', 'EXECUTE'
            FROM pg_proc p
            WHERE p.pronamespace = 'metadata'::regnamespace AND NOT p.prosecdef
              AND p.proname <> '_grant_privileges')
        -- Every ACL is made explicit (a REVOKE that changes nothing does it), as 0.1.0's
        -- script left them, then the differences are revoked and granted, reader first.
        SELECT * FROM (
            SELECT 'REVOKE' AS action, 'FROM' AS direction, o.kind, o.object, 'PUBLIC' AS grantee,
                   'ALL' AS privilege
            FROM objects o WHERE NOT o.explicit
            UNION ALL
            SELECT 'GRANT', 'TO', w.* FROM (TABLE wanted EXCEPT TABLE present) w
            UNION ALL
            SELECT 'REVOKE', 'FROM', p.* FROM (TABLE present EXCEPT TABLE wanted) p) AS d
        -- Revokes first: revoking a table privilege revokes its column privileges too.
        ORDER BY d.action DESC, d.kind, d.object,
                 array_position(ARRAY['PUBLIC', 'metadata_reader', 'metadata_editor',
                                      'metadata_admin'], d.grantee), d.privilege
    LOOP
        EXECUTE format('%s %s ON %s %s %s %s', g.action, g.privilege, g.kind, g.object, g.direction,
                       CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END);
    END LOOP;
END
$fn$;
SELECT metadata._grant_privileges();
