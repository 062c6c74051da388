-- The primary's data for the standby's comparison (tests/replica/standby.sh): the HotCRM
-- bundle as the system layer (the types its documents break switched to lenient, as in
-- tests/corpus), tenant overlays for t1 and t2, user u1's overlays in t1, and the round
-- marker the writer moves in each of its transactions. Needs psql variable bundle_file.
\set bundle `cat :bundle_file`
SET client_min_messages = error;
CREATE SCHEMA standby_test;
CREATE TABLE standby_test.items AS
SELECT i ->> 'type' AS type, i ->> 'name' AS name, i -> 'metadata' AS doc
FROM jsonb_array_elements(:'bundle'::jsonb -> 'items') AS i;
SELECT 1 FROM (SELECT DISTINCT type FROM standby_test.items WHERE NOT metadata.is_valid(type, doc)) AS t,
     metadata.register_type(t.type, validation_mode => 'lenient');
SELECT 1 FROM metadata.bulk_save((SELECT jsonb_agg(jsonb_build_object('type', type, 'name', name,
         'metadata', doc, 'scope', 'system', 'namespace', 'hotcrm') ORDER BY type, name)
       FROM standby_test.items));
SELECT 1 FROM metadata.register_type('standby_round', domain => 'system', validation_mode => 'off');
INSERT INTO standby_test.items VALUES ('standby_round', 'marker', '{}');
SELECT 1 FROM metadata.save('standby_round', 'marker', '{"r": 0}', scope => 'system');
-- The objects the writer changes: the first twelve by name.
CREATE TABLE standby_test.objects AS
SELECT row_number() OVER (ORDER BY name) - 1 AS k, name
FROM standby_test.items WHERE type = 'object' ORDER BY name LIMIT 12;
SET metadata.tenant_id = 't1';
SELECT 1 FROM standby_test.objects o, metadata.save('object', o.name, '{"label": "t1"}') WHERE o.k < 6;
SET metadata.user_id = 'u1';
SELECT 1 FROM standby_test.objects o,
     metadata.save('object', o.name, '{"description": "u1"}', scope => 'user') WHERE o.k % 3 = 0;
RESET metadata.user_id;
SET metadata.tenant_id = 't2';
SELECT 1 FROM standby_test.objects o, metadata.save('object', o.name, '{"label": "t2"}') WHERE o.k >= 6;
RESET metadata.tenant_id;
\ir digest.sql
