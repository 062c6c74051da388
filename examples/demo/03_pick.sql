-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): the items the rest of the demo looks at.
\ir _section.sql
-- The object and the list view with the most overlays, and a view that extends another
-- one (if any).
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM metadata.sys_metadata WHERE type = 'object') THEN
    RAISE EXCEPTION 'demo: the bundle has no object to show';
  END IF;
END $$;
SELECT name FROM metadata.sys_metadata WHERE type = 'object'
GROUP BY name ORDER BY count(*) FILTER (WHERE scope <> 'system') DESC, name LIMIT 1 \gset pick_
SELECT coalesce((SELECT name FROM metadata.sys_metadata WHERE type = 'view'
                 GROUP BY name HAVING bool_or(scope = 'system')
                 ORDER BY count(*) FILTER (WHERE scope <> 'system') DESC, name LIMIT 1), '') AS view,
       coalesce((SELECT name FROM metadata.sys_metadata WHERE type = 'view' AND extends IS NOT NULL
                 ORDER BY name LIMIT 1), '') AS xview \gset
\set obj :pick_name
SELECT :'view' <> '' AS have_view, :'xview' <> '' AS have_xview \gset
