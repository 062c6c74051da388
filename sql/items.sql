-- metadata: items: save, get, delete, exists, publish (DESIGN §4). Part of the extension
-- script (see src/lib.rs for the order). The writes are thin wrappers of the write path in
-- Rust (src/pg/write.rs). Every function here is SECURITY INVOKER: it reads and writes with
-- the caller's rights.

CREATE FUNCTION metadata.save(
    type text,
    name text,
    doc jsonb,
    scope text DEFAULT 'platform',
    owner text DEFAULT NULL,
    strategy text DEFAULT NULL,
    expected_version integer DEFAULT NULL,
    on_conflict text DEFAULT 'update',
    state text DEFAULT 'active',
    extends text DEFAULT NULL,
    namespace text DEFAULT NULL,
    tags text[] DEFAULT NULL,
    source text DEFAULT NULL,
    managed_by text DEFAULT NULL,
    package_id text DEFAULT NULL,
    package_version text DEFAULT NULL,
    change_note text DEFAULT NULL,
    expected_checksum text DEFAULT '*'
) RETURNS metadata.sys_metadata
LANGUAGE sql VOLATILE
RETURN metadata._save(type, name, doc, scope, owner, strategy, expected_version, on_conflict,
                      state, extends, namespace, tags, source, managed_by, package_id,
                      package_version, change_note, expected_checksum);
COMMENT ON FUNCTION metadata.save(text, text, jsonb, text, text, text, integer, text, text, text, text, text[], text, text, text, text, text, text) IS
  'Writes one layer of (type, name) for the caller''s tenant and returns the stored row. '
  'doc: a JSON object, the whole item (strategy replace, or the bottom layer) or an RFC 7396 '
  'merge patch. scope system (global), platform (the tenant''s), user (owner, default '
  'metadata.user_id). state active, draft (a pending change, see publish) or deprecated. '
  'on_conflict: update (new document; attributes not given are kept), replace (new document '
  'and attributes, defaults for those not given), skip (return the stored row), error '
  '(23505). expected_version: the version the caller read (0 = must not exist); '
  'expected_checksum: the sha256: checksum the caller read (NULL = must not exist; the '
  'default * = not checked); a mismatch raises 40001. change_note goes to the history row. '
  'Saving what is stored changes nothing. Errors: 22004 NULL, 22023 bad scope/state/'
  'strategy/on_conflict/owner or non-object doc, 42602 bad name, 42704 unregistered type, '
  '54000/54001 document over 4 MiB or 100 levels, 42P19 extends cycle, 23503 missing '
  'extends parent, 0A000 overlay or runtime item the type does not allow, 23514 locked path '
  'changed or (strict) schema not satisfied, 23505, 40001, 42501 outside the caller''s rights.';

CREATE FUNCTION metadata.get(type text, name text, scope text DEFAULT 'platform',
                             owner text DEFAULT NULL, state text DEFAULT 'active')
RETURNS metadata.sys_metadata
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k record;
    found_row metadata.sys_metadata;
BEGIN
    PERFORM metadata._require(get.type, 'type');
    PERFORM metadata._require(get.name, 'name');
    PERFORM metadata._require_one_of(get.state, 'state', ARRAY['active', 'draft']);
    SELECT * INTO k FROM metadata._layer_key(get.scope, get.owner);
    SELECT * INTO found_row FROM metadata._layer_rows(get.type, get.name, k.tenant_id, get.scope, k.owner_id) m
    WHERE CASE WHEN get.state = 'draft' THEN m.state = 'draft'
               ELSE m.state IN ('active', 'deprecated') END;
    RETURN found_row;
END
$fn$;
COMMENT ON FUNCTION metadata.get(text, text, text, text, text) IS
  'One raw layer of (type, name) at scope for the caller''s tenant (owner for user scope), '
  'state active (live) or draft; NULL when there is none. Errors: 22004, 22023.';

CREATE FUNCTION metadata.delete(type text, name text, scope text DEFAULT 'platform',
                                owner text DEFAULT NULL, expected_version integer DEFAULT NULL,
                                expected_checksum text DEFAULT '*', cascade boolean DEFAULT false)
RETURNS boolean
LANGUAGE sql VOLATILE
RETURN metadata._delete(type, name, scope, owner, expected_version, expected_checksum, cascade);
COMMENT ON FUNCTION metadata.delete(text, text, text, text, integer, text, boolean) IS
  'Archives the live layer of (type, name) at scope (state archived, version + 1; the row and '
  'its history are kept; a later save revives it). Returns false when there was none. '
  'expected_version / expected_checksum as for save. When items depend on it (their '
  'effective documents name it at a reference path, for any tenant or user who then no '
  'longer sees it), raises 23503 foreign_key_violation listing them in DETAIL, unless '
  'cascade => true: then it is deleted and a NOTICE lists them (they are not deleted). '
  'Errors: 22004, 22023, 42704, 40001, 42501, 23503.';

CREATE FUNCTION metadata.exists(type text, name text, scope text DEFAULT NULL,
                                owner text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k record;
    tenant text := metadata.current_tenant();
    usr text := metadata.current_user_id();
BEGIN
    PERFORM metadata._require(exists.type, 'type');
    PERFORM metadata._require(exists.name, 'name');
    IF exists.scope IS NOT NULL THEN
        RETURN (metadata.get(exists.type, exists.name, exists.scope, exists.owner)).id IS NOT NULL;
    END IF;
    RETURN EXISTS (
        SELECT 1 FROM metadata.sys_metadata m
        WHERE m.tenant_id IS NULL AND m.type = exists.type AND m.name = exists.name
          AND m.scope IN ('system', 'platform') AND m.state IN ('active', 'deprecated')
        UNION ALL
        SELECT 1 FROM metadata.sys_metadata m
        WHERE tenant IS NULL AND m.tenant_id IS NULL AND m.type = exists.type
          AND m.name = exists.name AND m.scope = 'user' AND m.owner = usr
          AND m.state IN ('active', 'deprecated')
        UNION ALL
        SELECT 1 FROM metadata.sys_metadata m
        WHERE m.tenant_id = tenant AND m.type = exists.type AND m.name = exists.name
          AND m.scope = 'platform' AND m.state IN ('active', 'deprecated')
        UNION ALL
        SELECT 1 FROM metadata.sys_metadata m
        WHERE m.tenant_id = tenant AND m.type = exists.type AND m.name = exists.name
          AND m.scope = 'user' AND m.owner = usr AND m.state IN ('active', 'deprecated'));
END
$fn$;
COMMENT ON FUNCTION metadata.exists(text, text, text, text) IS
  'Without scope: whether (type, name) has an effective document for the caller. With scope: '
  'whether that live layer exists. Errors: 22004, 22023.';

CREATE FUNCTION metadata.publish(type text, name text, scope text DEFAULT 'platform',
                                 owner text DEFAULT NULL, expected_version integer DEFAULT NULL,
                                 force boolean DEFAULT false, expected_checksum text DEFAULT '*',
                                 change_note text DEFAULT NULL)
RETURNS metadata.sys_metadata
LANGUAGE sql VOLATILE
RETURN metadata._publish(type, name, scope, owner, expected_version, force, expected_checksum,
                         change_note);
COMMENT ON FUNCTION metadata.publish(text, text, text, text, integer, boolean, text, text) IS
  'Promotes the draft layer of (type, name) at scope to active: the live row takes the '
  'draft''s document and attributes (version + 1) and the draft row goes; without a live row '
  'the draft row becomes it. One change: one history row (op publish, change_note), one '
  'event. Returns '
  'the live row. Errors: P0002 no draft, 40001 expected_version / expected_checksum (of the '
  'draft) mismatch, or the live layer is no longer the version the draft was saved over '
  '(force => true publishes anyway), and those of the checks of save.';
