-- The extension's catalog, one line per object, with what pg_dump's text hides or spreads
-- out: each function's language, volatility, strictness, security, pinned settings
-- (proconfig), ACL and body; each relation's ACL and row level security; columns in
-- order; constraints, indexes, triggers, policies; extension membership, configuration
-- tables and initial privileges. OIDs never appear: objects are named.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SELECT 'extension ' || extversion || ' config ' || coalesce((SELECT string_agg(format('%s[%s]', c::regclass, w), ' ' ORDER BY c::regclass::text)
                                                              FROM unnest(extconfig, extcondition) AS u(c, w)), '-')
FROM pg_extension WHERE extname = 'metadata';
SELECT format('function %s lang=%s vol=%s par=%s strict=%s secdef=%s rows=%s cost=%s config=%s acl=%s body=%s comment=%s',
              p.oid::regprocedure, l.lanname, p.provolatile, p.proparallel, p.proisstrict, p.prosecdef,
              p.prorows, p.procost, p.proconfig, p.proacl,
              md5(coalesce(p.prosrc, '') || '|' || coalesce(p.probin, '') || '|' || coalesce(pg_get_function_sqlbody(p.oid), '')),
              md5(coalesce(obj_description(p.oid, 'pg_proc'), '')))
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'metadata'::regnamespace ORDER BY p.oid::regprocedure::text;
SELECT format('relation %s kind=%s acl=%s rls=%s force=%s comment=%s', c.relname, c.relkind, c.relacl,
              c.relrowsecurity, c.relforcerowsecurity, md5(coalesce(obj_description(c.oid, 'pg_class'), '')))
FROM pg_class c WHERE c.relnamespace = 'metadata'::regnamespace ORDER BY c.relname;
SELECT format('column %s.%s #%s %s notnull=%s default=%s identity=%s', c.relname, a.attname,
              row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), format_type(a.atttypid, a.atttypmod),
              a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity)
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'metadata'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;
SELECT format('constraint %s on %s: %s', conname, coalesce(conrelid::regclass::text, contypid::regtype::text),
              pg_get_constraintdef(oid))
FROM pg_constraint WHERE connamespace = 'metadata'::regnamespace ORDER BY 1;
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'metadata' ORDER BY indexname;
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'metadata'::regnamespace AND NOT t.tgisinternal ORDER BY c.relname, t.tgname;
SELECT format('policy %s on %s for %s to %s using (%s) check (%s) %s', policyname, tablename, cmd, roles, qual,
              with_check, permissive)
FROM pg_policies WHERE schemaname = 'metadata' ORDER BY tablename, policyname;
SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' ' || coalesce(t.typacl::text, '-')
FROM pg_type t WHERE t.typnamespace = 'metadata'::regnamespace AND t.typname !~ '^_' ORDER BY t.typname;
SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'metadata')
ORDER BY 1;
SELECT format('init privileges %s %s %s', pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype, i.initprivs)
FROM pg_init_privs i
WHERE (i.classoid, i.objoid) IN (SELECT d.classid, d.objid FROM pg_depend d
                                 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
                                   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'metadata'))
   OR (i.classoid = 'pg_namespace'::regclass AND i.objoid = 'metadata'::regnamespace)
ORDER BY 1;
SELECT 'schema acl ' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'metadata';
