-- standby_test.digest(): every read function's answer about every item, in four contexts
-- (no tenant; tenant t1; user u1 in t1; tenant t2), as one checksum with the writer's round
-- marker. Run it in one REPEATABLE READ transaction: one snapshot, so the standby's
-- answer must equal the primary's at the round the marker names. Feed positions (seq) are
-- left out: in preloaded mode the feed worker gives them in transactions of its own, and
-- the follower checks the feed apart.
CREATE FUNCTION standby_test.digest() RETURNS TABLE (round integer, digest text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ctx record;
    parts text[] := '{}';
BEGIN
    FOR ctx IN SELECT * FROM (VALUES ('', ''), ('t1', ''), ('t1', 'u1'), ('t2', '')) AS c(tenant, usr) LOOP
        PERFORM set_config('metadata.tenant_id', ctx.tenant, true);
        PERFORM set_config('metadata.user_id', ctx.usr, true);
        -- effective, validate and explain of each item
        parts := parts || (
            SELECT string_agg(md5(concat_ws(' ', i.type, i.name, e.doc::text,
                                  metadata.validate(i.type, coalesce(e.doc, '{}'))::text,
                                  (SELECT string_agg(x::text, ',' ORDER BY x.ordinal)
                                   FROM metadata.explain(i.type, i.name) AS x))), ',' ORDER BY i.type, i.name)
            FROM standby_test.items i, LATERAL (SELECT metadata.effective(i.type, i.name) AS doc) AS e);
        -- effective_all of each type
        parts := parts || (
            SELECT string_agg(md5(concat_ws(' ', t.type, (SELECT string_agg(a.name || a.doc::text, ',' ORDER BY a.name)
                                                          FROM metadata.effective_all(t.type) AS a))), ',' ORDER BY t.type)
            FROM (SELECT DISTINCT type FROM standby_test.items) AS t);
        -- the catalog
        parts := parts || (
            SELECT md5(string_agg(q::text, ',' ORDER BY q.type, q.name, q.scope, q.tenant_id))
            FROM metadata.query(page_size => 10000, effective => true) AS q);
        -- history (without feed positions), at_version and diff of the changed objects
        parts := parts || (
            SELECT string_agg(md5(concat_ws(' ', o.name,
                       (SELECT string_agg(concat_ws(' ', h.id, h.op, h.tenant_id, h.scope, h.owner, h.version,
                                                    h.checksum, h.metadata::text), ',' ORDER BY h.id)
                        FROM metadata.history('object', o.name, page_size => 1000) AS h),
                       metadata.at_version('object', o.name, 1, 'system')::text,
                       metadata.diff('object', o.name, 1, s.version, 'system')::text)), ',' ORDER BY o.name)
            FROM standby_test.objects o
            JOIN metadata.sys_metadata s ON s.type = 'object' AND s.name = o.name AND s.scope = 'system');
    END LOOP;
    RETURN QUERY SELECT (metadata.effective('standby_round', 'marker') ->> 'r')::integer,
                        md5(array_to_string(parts, ';'));
END
$fn$;
