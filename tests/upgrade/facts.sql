-- What an update must keep, one line per fact (the upgrade test diffs it before and after):
-- every stored row and history row, the feed, registered and customised types, the
-- effective document of every item in several tenant/user contexts with its layers'
-- staleness, and the grants of the application roles.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SELECT 'rows ' || count(*) || ' ' || md5(string_agg(concat_ws('|', id, tenant_id, type, name, namespace, scope,
         owner, strategy, extends, metadata, state, version, checksum, base_checksum, source, managed_by,
         package_id, package_version, tags, created_by, created_at, updated_by, updated_at), E'\n' ORDER BY id))
FROM metadata.sys_metadata;
SELECT 'history ' || count(*) || ' ' || md5(string_agg(concat_ws('|', id, seq, item_id, op, tenant_id, type, name,
         scope, owner, state, strategy, extends, version, metadata, checksum, previous_checksum, changed_by,
         changed_at, txid, note), E'\n' ORDER BY id))
FROM metadata.sys_metadata_history;
SELECT 'feed ' || count(seq) || ' sequenced, newest ' || max(seq) FROM metadata.sys_metadata_history;
SELECT 'types ' || string_agg(format('%s:%s:%s:%s:%s', name, validation_mode, locked_paths, builtin, customised),
                              ' ' ORDER BY name)
FROM metadata.sys_metadata_type WHERE NOT builtin OR customised;
SELECT 'type count ' || count(*) FROM metadata.sys_metadata_type;

CREATE TEMP TABLE contexts (tenant text, usr text);
INSERT INTO contexts VALUES ('', ''), ('acme', ''), ('acme', 'u1'), ('acme', 'u2'), ('t1', 'u1'), ('t4', ''), ('nobody', 'x');
CREATE TEMP TABLE names AS SELECT DISTINCT type, name FROM metadata.sys_metadata;
CREATE FUNCTION pg_temp.effective_in(tenant text, usr text) RETURNS TABLE (line text)
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM set_config('metadata.tenant_id', tenant, true);
    PERFORM set_config('metadata.user_id', usr, true);
    RETURN QUERY
    SELECT format('effective %s/%s: %s items, %s', tenant, usr, count(e.doc),
                  md5(string_agg(n.type || '/' || n.name || '=' || coalesce(e.doc::text, '-'), E'\n'
                                 ORDER BY n.type, n.name)))
    FROM names n, LATERAL (SELECT metadata.effective(n.type, n.name) AS doc) e;
    RETURN QUERY
    SELECT format('preview %s/%s: %s', tenant, usr,
                  md5(string_agg(n.type || '/' || n.name || '=' || coalesce(e.doc::text, '-'), E'\n'
                                 ORDER BY n.type, n.name)))
    FROM names n, LATERAL (SELECT metadata.effective(n.type, n.name, preview => true) AS doc) e;
    RETURN QUERY
    SELECT format('explain %s/%s: %s layers, %s stale, %s', tenant, usr, count(*), count(*) FILTER (WHERE x.stale),
                  md5(string_agg(concat_ws('|', n.type, n.name, x.ordinal, x.item, x.scope, x.tenant_id, x.owner,
                                           x.version, x.checksum, x.stale), E'\n'
                                 ORDER BY n.type, n.name, x.ordinal)))
    FROM names n, LATERAL metadata.explain(n.type, n.name) x;
    RETURN QUERY
    SELECT format('effective_all %s/%s: %s', tenant, usr,
                  md5(string_agg(n.type || '/' || e.name || '=' || e.doc::text, E'\n' ORDER BY n.type, e.name)))
    FROM (SELECT DISTINCT type FROM names) n, LATERAL metadata.effective_all(n.type) e;
END
$fn$;
BEGIN;
SELECT e.line FROM contexts c, LATERAL pg_temp.effective_in(c.tenant, c.usr) e;
COMMIT;

SELECT 'grants ' || string_agg(format('%s %s %s', grantee, object, privileges), '; ' ORDER BY grantee, object)
FROM (SELECT r.rolname AS grantee, c.oid::regclass::text AS object, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) AS privileges
      FROM pg_class c, aclexplode(c.relacl) a, pg_roles r
      WHERE c.relnamespace = 'metadata'::regnamespace AND r.oid = a.grantee AND r.rolname LIKE 'upgrade%'
      GROUP BY 1, 2
      UNION ALL
      SELECT r.rolname, p.oid::regprocedure::text, string_agg(a.privilege_type, ',')
      FROM pg_proc p, aclexplode(p.proacl) a, pg_roles r
      WHERE p.pronamespace = 'metadata'::regnamespace AND r.oid = a.grantee AND r.rolname LIKE 'upgrade%'
      GROUP BY 1, 2) g;
SELECT 'members ' || string_agg(r.rolname || '<' || m.rolname, ' ' ORDER BY r.rolname, m.rolname)
FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.member JOIN pg_roles m ON m.oid = am.roleid
WHERE r.rolname LIKE 'upgrade%';
