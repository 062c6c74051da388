-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): a new version of the package crm (installed by 01_load.sql) upgraded over
-- the tenants' and users' customisations by a three-way merge: a dry run with conflicts,
-- their resolution, and the effective documents before and after.
\ir _section.sql
\echo
\echo '== packages: crm (installed by section 01) upgraded to 2.0.0 over every tenant''s customisations'
SELECT id, version, items FROM metadata.packages();
-- Version 2.0.0: what the package's system rows hold now (export), with changes.
CREATE TEMP TABLE pkg AS
SELECT metadata.export('{"scopes": ["system"], "states": ["active"], "package_id": "crm"}') AS v1;
-- It relabels the object and the first field a tenant touched, and adds a field.
SELECT coalesce((demo.touched_fields('object', :'obj'))[1], 'name') AS field \gset
ALTER TABLE pkg ADD COLUMN v2 jsonb;
UPDATE pkg SET v2 = jsonb_build_object('package', '{"id": "crm", "version": "2.0.0"}'::jsonb, 'items', (
    SELECT jsonb_agg(CASE WHEN i ->> 'type' = 'object' AND i ->> 'name' = :'obj'
                          THEN jsonb_set(jsonb_set(jsonb_set(i, '{metadata,label}',
                                   to_jsonb(coalesce(i #>> '{metadata,label}', :'obj') || ' (2.0)')),
                               ARRAY['metadata', 'fields', :'field', 'label'],
                               to_jsonb(coalesce(i #>> ARRAY['metadata', 'fields', :'field', 'label'], :'field') || ' (2.0)')),
                               '{metadata,fields,since_2_0}', '{"type": "text", "label": "Since 2.0"}')
                          ELSE i END ORDER BY i ->> 'type', i ->> 'name')
    -- (An export item names its layer and checksum; a package item is its document.)
    FROM (SELECT e - 'scope' - 'state' - 'package_id' - 'package_version' - 'checksum' AS i
          FROM jsonb_array_elements(v1 -> 'items') AS e) AS x));
\echo '-- the effective' :'obj' 'before, per context: label and the' :'field' 'field'
SELECT c.context, d.doc ->> 'label' AS label, d.doc #>> ARRAY['fields', :'field', 'label'] AS field_label
FROM demo.contexts c, LATERAL (SELECT demo.effective_as(c.tenant, c.usr, 'object', :'obj') AS doc) d ORDER BY c.ord;
\echo '-- upgrade_package(''crm'', 2.0.0, dry_run => true): every overlay over a changed item is merged;'
\echo '-- conflicts (both changed a path, differently) per tenant, layer and JSON Pointer; nothing written'
CREATE TEMP TABLE dry AS SELECT metadata.upgrade_package('crm', v2, dry_run => true) AS r FROM pkg;
SELECT r ->> 'written' AS written, r -> 'counts' AS counts FROM dry;
SELECT f ->> 'tenant_id' AS tenant, f ->> 'scope' AS scope, f ->> 'owner' AS owner, f ->> 'name' AS item,
       f ->> 'path' AS path, f -> 'old_base' AS old_base, f -> 'new_base' AS new_base, f -> 'custom' AS custom,
       f ->> 'kind' AS kind
FROM dry, jsonb_array_elements(r -> 'findings') AS f LIMIT 8;
\echo '-- the same without dry_run: the conflicts abort it all (written false), the package stays 1.0.0'
SELECT r ->> 'written' AS written, r -> 'counts' ->> 'conflict' AS conflicts, (SELECT version FROM metadata.packages()) AS installed
FROM pkg, metadata.upgrade_package('crm', v2) AS r;
\echo '-- resolved: the report''s conflicts passed back as resolutions, acme keeping its value, the others taking the package''s'
SELECT coalesce(jsonb_agg(f || jsonb_build_object('resolution', CASE WHEN f ->> 'tenant_id' = 'acme' THEN 'custom' ELSE 'incoming' END)), '[]') AS resolutions
FROM dry, jsonb_array_elements(r -> 'findings') AS f \gset
SELECT r ->> 'written' AS written, r -> 'counts' AS counts
FROM pkg, metadata.upgrade_package('crm', v2, resolutions => :'resolutions'::jsonb) AS r;
SELECT id, version, items FROM metadata.packages();
\echo '-- the effective' :'obj' 'after: the new base shows through where nobody customised it, acme''s choice stays'
SELECT c.context, d.doc ->> 'label' AS label, d.doc #>> ARRAY['fields', :'field', 'label'] AS field_label,
       d.doc #>> '{fields,since_2_0,label}' AS new_field
FROM demo.contexts c, LATERAL (SELECT demo.effective_as(c.tenant, c.usr, 'object', :'obj') AS doc) d ORDER BY c.ord;
\echo '-- acme''s overlay is the minimal merge patch over the new base now, and no longer stale'
SET metadata.tenant_id = 'acme';
SELECT scope, version, stale FROM metadata.explain('object', :'obj');
RESET metadata.tenant_id;
\echo '-- history and feed record each change with op upgrade; the same upgrade again changes nothing'
SELECT op, scope, count(*) AS changes FROM metadata.sys_metadata_history WHERE op = 'upgrade' GROUP BY op, scope ORDER BY scope;
SELECT r -> 'counts' AS "re-run counts" FROM pkg, metadata.upgrade_package('crm', v2) AS r;
