-- Bench only (never part of the extension): the effective-document resolver a user would
-- write in PL/pgSQL without the extension, over the same table. Used by bench/run.sh
-- as case (c) and checked to return exactly what metadata.effective() returns.

CREATE SCHEMA IF NOT EXISTS bench;

-- RFC 7396 §2 MergePatch(Target, Patch), literally:
--   if Patch is an Object:
--     if Target is not an Object: Target = {}
--     for each Name/Value pair in Patch:
--       if Value is null: remove Name from Target (if present)
--       else: Target[Name] = MergePatch(Target[Name], Value)
--     return Target
--   else: return Patch
CREATE OR REPLACE FUNCTION bench.merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
    result jsonb;
    k text;
    v jsonb;
BEGIN
    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RETURN patch;
    END IF;
    IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
        result := '{}';
    ELSE
        result := target;
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(patch) AS e LOOP
        IF jsonb_typeof(v) = 'null' THEN
            result := result - k;
        ELSE
            result := jsonb_set(result, ARRAY[k], bench.merge_patch(result -> k, v));
        END IF;
    END LOOP;
    RETURN result;
END
$fn$;

-- Effective document of (type, name) for the caller's metadata.tenant_id and
-- metadata.user_id: the active (or deprecated) layers system global, platform global,
-- platform of the tenant, user of the tenant for the user, bottom up; a merge layer is an
-- RFC 7396 patch over what is below (the lowest layer is taken as stored, as the
-- extension does), a replace layer discards what is below. NULL when there is no layer. (No extends, no drafts: the bench needs none.)
CREATE OR REPLACE FUNCTION bench.resolve(p_type text, p_name text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    tenant text := nullif(current_setting('metadata.tenant_id', true), '');
    usr text := nullif(current_setting('metadata.user_id', true), '');
    doc jsonb;
    layer record;
BEGIN
    FOR layer IN
        SELECT l.strategy, l.metadata
        FROM (
            SELECT 1 AS ord, m.strategy, m.metadata FROM metadata.sys_metadata m
            WHERE m.tenant_id IS NULL AND m.type = p_type AND m.name = p_name
              AND m.scope = 'system' AND m.state IN ('active', 'deprecated')
            UNION ALL
            SELECT 2, m.strategy, m.metadata FROM metadata.sys_metadata m
            WHERE m.tenant_id IS NULL AND m.type = p_type AND m.name = p_name
              AND m.scope = 'platform' AND m.state IN ('active', 'deprecated')
            UNION ALL
            SELECT 3, m.strategy, m.metadata FROM metadata.sys_metadata m
            WHERE m.tenant_id = tenant AND m.type = p_type AND m.name = p_name
              AND m.scope = 'platform' AND m.state IN ('active', 'deprecated')
            UNION ALL
            SELECT 4, m.strategy, m.metadata FROM metadata.sys_metadata m
            WHERE m.tenant_id = tenant AND m.type = p_type AND m.name = p_name
              AND m.scope = 'user' AND m.owner = usr AND m.state IN ('active', 'deprecated')
        ) AS l
        ORDER BY l.ord
    LOOP
        IF layer.strategy = 'replace' OR doc IS NULL THEN
            doc := layer.metadata;
        ELSE
            doc := bench.merge_patch(doc, layer.metadata);
        END IF;
    END LOOP;
    RETURN doc;
END
$fn$;
