-- metadata: bulk_save (DESIGN §4). Part of the extension script (see src/lib.rs for the order).
-- Every function here is SECURITY INVOKER: it reads and writes with the caller's rights.

-- Saves one bulk item {type, name, metadata, scope?, owner?, strategy?, state?, extends?,
-- namespace?, tags?, expected_version?, on_conflict?, source?, managed_by?, package_id?,
-- package_version?}. Unknown keys are refused (22023).
CREATE FUNCTION metadata._save_item(item jsonb) RETURNS metadata.sys_metadata
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    unknown text;
BEGIN
    IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'item must be a JSON object, not %', coalesce(jsonb_typeof(item), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(item) AS k
    WHERE k NOT IN ('type', 'name', 'metadata', 'scope', 'owner', 'strategy', 'state',
                    'extends', 'namespace', 'tags', 'expected_version', 'on_conflict',
                    'source', 'managed_by', 'package_id', 'package_version', 'change_note')
    LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown key "%" in item', left(unknown, 200)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF item ? 'tags' AND jsonb_typeof(item -> 'tags') <> 'array' THEN
        RAISE EXCEPTION 'tags must be an array of strings' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN metadata.save(
        type => item ->> 'type',
        name => item ->> 'name',
        doc => item -> 'metadata',
        scope => coalesce(item ->> 'scope', 'platform'),
        owner => item ->> 'owner',
        strategy => item ->> 'strategy',
        expected_version => (item ->> 'expected_version')::integer,
        on_conflict => coalesce(item ->> 'on_conflict', 'update'),
        state => coalesce(item ->> 'state', 'active'),
        extends => item ->> 'extends',
        namespace => item ->> 'namespace',
        tags => CASE WHEN item ? 'tags'
                     THEN ARRAY(SELECT jsonb_array_elements_text(item -> 'tags')) END,
        source => item ->> 'source',
        managed_by => item ->> 'managed_by',
        package_id => item ->> 'package_id',
        package_version => item ->> 'package_version',
        change_note => item ->> 'change_note');
END
$fn$;

CREATE FUNCTION metadata.bulk_save(items jsonb, continue_on_error boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    item jsonb;
    i integer := -1;
    ok integer := 0;
    errors jsonb := '[]';
    err_state text;
    err_message text;
    err_detail text;
    err_hint text;
BEGIN
    PERFORM metadata._require(items, 'items');
    IF jsonb_typeof(items) <> 'array' THEN
        RAISE EXCEPTION 'items must be a JSON array of items, not %', jsonb_typeof(items)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT coalesce(continue_on_error, false) THEN
        -- All or nothing: the first failure aborts with its SQLSTATE, naming the item.
        BEGIN
            FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
                i := i + 1;
                PERFORM metadata._save_item(item);
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
            PERFORM metadata._reraise(err_state,
                format('bulk_save item /%s%s: %s', i,
                       CASE WHEN jsonb_typeof(item) = 'object'
                            THEN format(' (%s/%s)', item ->> 'type', item ->> 'name') ELSE '' END,
                       err_message),
                err_detail, err_hint);
        END;
        RETURN jsonb_build_object('total', i + 1, 'succeeded', i + 1, 'failed', 0, 'errors', errors);
    END IF;
    FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
        i := i + 1;
        BEGIN
            PERFORM metadata._save_item(item);
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_detail = PG_EXCEPTION_DETAIL;
            errors := errors || jsonb_build_object(
                'index', i, 'pointer', '/' || i, 'type', item ->> 'type', 'name', item ->> 'name',
                'sqlstate', err_state, 'message', err_message, 'detail', nullif(err_detail, ''));
        END;
    END LOOP;
    RETURN jsonb_build_object('total', i + 1, 'succeeded', ok, 'failed', i + 1 - ok,
                              'errors', errors);
END
$fn$;
COMMENT ON FUNCTION metadata.bulk_save(jsonb, boolean) IS
  'Saves a JSON array of items {type, name, metadata, scope?, owner?, strategy?, state?, '
  'extends?, namespace?, tags?, expected_version?, on_conflict?, source?, managed_by?, '
  'package_id?, package_version?} (the items of a bundle) and returns {total, succeeded, '
  'failed, errors[]}. Without continue_on_error it is all or nothing: the first failure '
  'raises its own SQLSTATE, the message naming the item as /index. With it, each item is '
  'saved on its own and failures are listed as {index, pointer, type, name, sqlstate, '
  'message, detail}.';
