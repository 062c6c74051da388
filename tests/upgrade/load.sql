-- Loads real data through the API of the installed (old) version: the bundle named by the
-- psql variable bundle_file as the system layer of package "crm", overlays of several
-- tenants and users, drafts, a publish, a delete, a rollback, a replace layer, a custom
-- type whose items extend each other, and application roles with grants.
-- Only functions of the 0.1.0 API are used, so the file loads into every release.
\set ON_ERROR_STOP on
\set bundle `cat "$UPGRADE_BUNDLE"`
CREATE TEMP TABLE input AS SELECT :'bundle'::jsonb AS doc;
\unset bundle
SET client_min_messages = error;

-- Documents that break their type's built-in schema (real apps have some) load leniently.
SELECT count(*) AS lenient_types
FROM (SELECT DISTINCT item ->> 'type' AS type FROM input, jsonb_array_elements(doc -> 'items') AS item
      WHERE NOT metadata.is_valid(item ->> 'type', item -> 'metadata')) AS t,
     metadata.register_type(t.type, validation_mode => 'lenient');

SELECT metadata.bulk_save(jsonb_agg(item || jsonb_build_object(
         'scope', 'system', 'source', 'filesystem', 'managed_by', 'package',
         'package_id', 'crm', 'package_version', '1.0.0') ORDER BY n)) ->> 'succeeded' AS system_items
FROM input, jsonb_array_elements(doc -> 'items') WITH ORDINALITY AS x(item, n);

-- Overlays: tenants acme and t1..t5 relabel every second item; users of acme and t1
-- personalise every third.
CREATE TEMP TABLE items AS
SELECT row_number() OVER (ORDER BY item ->> 'type', item ->> 'name') AS n,
       item ->> 'type' AS type, item ->> 'name' AS name
FROM input, jsonb_array_elements(doc -> 'items') AS item;
DO $do$
DECLARE
    t text;
    u text;
BEGIN
    FOREACH t IN ARRAY ARRAY['acme', 't1', 't2', 't3', 't4', 't5'] LOOP
        PERFORM set_config('metadata.tenant_id', t, true);
        PERFORM set_config('metadata.user_id', '', true);
        PERFORM metadata.bulk_save(jsonb_agg(jsonb_build_object(
                    'type', i.type, 'name', i.name,
                    'metadata', jsonb_build_object('label', t || ' ' || i.name, 'tenant_note', t))
                ORDER BY i.n))
        FROM items i WHERE i.n % 2 = 0;
        CONTINUE WHEN t NOT IN ('acme', 't1');
        FOREACH u IN ARRAY ARRAY['u1', 'u2'] LOOP
            PERFORM set_config('metadata.user_id', u, true);
            PERFORM metadata.bulk_save(jsonb_agg(jsonb_build_object(
                        'type', i.type, 'name', i.name, 'scope', 'user',
                        'metadata', jsonb_build_object('description', u || ' of ' || t))
                    ORDER BY i.n))
            FROM items i WHERE i.n % 3 = 0;
        END LOOP;
    END LOOP;
END
$do$;

-- Drafts, publish, delete, rollback, replace, history notes (tenant acme, on items it
-- overlays: 2 keeps a pending draft, 4 is published then rolled back, 6 is deleted).
SET metadata.tenant_id = 'acme';
SET metadata.user_id = '';
CREATE TEMP TABLE picks AS SELECT n, type, name FROM items WHERE n IN (2, 4, 6);
SELECT version FROM picks, metadata.save(type, name, '{"label": "acme draft"}', state => 'draft',
                                         change_note => 'staged') WHERE n = 2;
SELECT version FROM picks, metadata.save(type, name, '{"label": "acme published"}', state => 'draft') WHERE n = 4;
SELECT version FROM picks, metadata.publish(type, name) WHERE n = 4;
SELECT version FROM picks, metadata.rollback(type, name, 1, 'back to the first') WHERE n = 4;
SELECT metadata.delete(type, name) FROM picks WHERE n = 6;
SELECT version FROM metadata.save('object', (SELECT name FROM items WHERE type = 'object' ORDER BY n LIMIT 1),
                                  '{"name": "replaced", "label": "acme replaced it", "fields": {}}',
                                  strategy => 'replace', on_conflict => 'replace');

-- A custom type with a schema, items that extend each other, and a tenant overlay.
RESET metadata.tenant_id;
SELECT name FROM metadata.register_type('widget', 'ui', schema => '{"type": "object", "required": ["kind"]}',
                                        locked_paths => '{/kind}', description => 'dashboard widgets');
SELECT version FROM metadata.save('widget', 'clock', '{"kind": "clock", "tz": "UTC"}', scope => 'system');
SELECT version FROM metadata.save('widget', 'world_clock', '{"zones": ["UTC", "Asia/Tokyo"]}', scope => 'system',
                                  extends => 'clock');
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('widget', 'world_clock', '{"zones": ["Europe/Paris"]}', tags => '{ops}');
RESET metadata.tenant_id;
-- Documents whose checksum 0.1.0 wrote differently (numbers as written, keys in UTF-8
-- order; tests/upgrade/age.sql recreates 0.1.0's checksums): decimals, exponents and keys
-- that are array indices or outside the BMP, in a base, a tenant overlay over it, a user
-- overlay, a draft, and a stale overlay (its base changed after it was written).
SELECT version FROM metadata.save('widget', 'gauge', '{"kind": "gauge", "max": 1.50, "min": 0.0, "steps": {"10": "x", "9": "y", "😀": 1, "ﬁ": 2}}', scope => 'system');
SELECT version FROM metadata.save('widget', 'meter', '{"kind": "meter", "scale": 2.50}', scope => 'system');
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('widget', 'gauge', '{"max": 2.50e1}');
SELECT version FROM metadata.save('widget', 'gauge', '{"max": 3.0}', state => 'draft');
SELECT version FROM metadata.save('widget', 'meter', '{"scale": 1e2}');
SET metadata.user_id = 'u1';
SELECT version FROM metadata.save('widget', 'gauge', '{"min": 0.5}', scope => 'user');
RESET metadata.user_id;
RESET metadata.tenant_id;
SELECT version FROM metadata.save('widget', 'meter', '{"kind": "meter", "scale": 7.50}', scope => 'system');

-- A customised built-in type.
SELECT name FROM metadata.register_type('dashboard', locked_paths => '{/name}');

-- Application roles: members of the extension's roles, and direct grants.
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'upgrade_app') THEN
        CREATE ROLE upgrade_app LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'upgrade_auditor') THEN
        CREATE ROLE upgrade_auditor LOGIN;
    END IF;
END
$do$;
GRANT metadata_editor TO upgrade_app;
\ir grants.sql
