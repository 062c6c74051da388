-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): tenant and user overlays, from a file or generated from the bundle.
\ir _section.sql
\echo
\if :overlays_from_file
\echo '== apply overlays from' :overlays_file
\set overlays `cat "$DEMO_OVERLAYS_FILE"`
INSERT INTO demo.overlays SELECT :'overlays'::jsonb;
\unset overlays
\else
\echo '== apply overlays generated from the bundle (demo.generate_overlays, jsonb functions)'
\set bundle `cat "$DEMO_BUNDLE_FILE"`
INSERT INTO demo.overlays SELECT demo.generate_overlays(:'bundle'::jsonb);
\unset bundle
\endif
\echo 'one all-or-nothing metadata.bulk_save per group, run with SET metadata.tenant_id / metadata.user_id'
SELECT coalesce(tenant_id, '(global)') AS tenant_id, coalesce(user_id, '') AS user_id,
       items AS "scope type/name", result
FROM demo.apply_overlays((SELECT doc FROM demo.overlays));
