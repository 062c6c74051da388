-- One round of the primary's writer (tests/replica/standby.sh), psql variable r: one
-- transaction that changes a system object, t1's and t2's overlays, u1's overlay (every
-- fourth round deletes t2's instead), and moves the round marker.
BEGIN;
SELECT name AS obj FROM standby_test.objects WHERE k = :r % 12 \gset
SELECT 1 FROM metadata.save('object', :'obj',
    (SELECT s.metadata FROM metadata.sys_metadata s
     WHERE s.type = 'object' AND s.name = :'obj' AND s.scope = 'system')
    || jsonb_build_object('description', 'round ' || :r), scope => 'system');
SET LOCAL metadata.tenant_id = 't1';
SELECT 1 FROM metadata.save('object', :'obj', jsonb_build_object('label', 't1 round ' || :r));
SET LOCAL metadata.user_id = 'u1';
SELECT 1 FROM metadata.save('object', :'obj', jsonb_build_object('description', 'u1 round ' || :r), scope => 'user');
SET LOCAL metadata.tenant_id = 't2';
SELECT CASE WHEN :r % 4 = 0
            THEN metadata.delete('object', name)::int
            ELSE (metadata.save('object', name, jsonb_build_object('label', 't2 round ' || :r))).version END
FROM standby_test.objects WHERE k = 6 + :r % 6 \gset
SET LOCAL metadata.tenant_id = '';
SELECT 1 FROM metadata.save('standby_round', 'marker', jsonb_build_object('r', :r), scope => 'system');
COMMIT;
