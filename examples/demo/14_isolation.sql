-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): tenant isolation.
\ir _section.sql
\echo
\echo '== tenant isolation: row level security, enforced by the database for an application role'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_app') THEN
    CREATE ROLE demo_app NOLOGIN IN ROLE metadata_editor;
  END IF;
END $$;
GRANT USAGE ON SCHEMA demo TO demo_app;
SET ROLE demo_app;
SET metadata.tenant_id = 'globex';
\echo '-- as demo_app (metadata_editor) for tenant globex: acme''s rows are invisible, forged writes refused'
SELECT (SELECT count(*) FROM metadata.sys_metadata WHERE tenant_id = 'acme') AS "acme rows visible",
       (SELECT count(*) FROM metadata.sys_metadata_history WHERE tenant_id = 'acme') AS "acme history visible",
       metadata.effective('object', :'obj') ->> 'label' AS "globex sees";
SELECT r.code AS sqlstate, r.message, t.stmt AS "statement"
FROM (VALUES
  (1, $$INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata) VALUES ('acme', 'object', 'forged', '{}')$$),
  (2, $$SELECT metadata.save('object', 'account', '{"label": "pwned"}', scope => 'system')$$)
) AS t(n, stmt)
CROSS JOIN LATERAL demo.try(t.stmt) AS r
ORDER BY t.n;
WITH u AS (UPDATE metadata.sys_metadata SET metadata = '{}' WHERE tenant_id = 'acme' RETURNING 1)
SELECT count(*) AS "acme rows an UPDATE by globex reaches" FROM u;
RESET ROLE;
