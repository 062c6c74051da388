-- metadata: packages (DESIGN §4 "Packages"): a package's items are its system rows; the
-- registry says which version is installed and what it holds. Part of the extension script
-- (see src/lib.rs for the order). Every function here needs metadata_admin.

-- One row per version of a package that was installed: the installed one (at most one per
-- package), the versions it superseded, and uninstalled ones. Global, like the system rows
-- (no tenant data: no row level security; readers see every package).
CREATE TABLE metadata.sys_metadata_package (
    id           metadata.machine_name NOT NULL,
    version      text NOT NULL CHECK (version <> '' AND length(version) <= 64),
    description  text,
    state        text NOT NULL DEFAULT 'installed'
                 CHECK (state IN ('installed', 'superseded', 'uninstalled')),
    checksum     text NOT NULL,
    manifest     jsonb NOT NULL,
    published    jsonb,
    installed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    installed_by text NOT NULL DEFAULT metadata.current_actor(),
    PRIMARY KEY (id, version)
);
CREATE UNIQUE INDEX sys_metadata_package_installed ON metadata.sys_metadata_package (id)
    WHERE state = 'installed';
COMMENT ON TABLE metadata.sys_metadata_package IS
  'Packages: per (id, version) installed, the state (installed, superseded, uninstalled), the '
  'checksum of the bundle''s items (RFC 8785 canonical JSON, SHA-256), the manifest of its '
  'system rows [{type, name, version, checksum}] (their documents stay in the history), and, '
  'after publish_package, the versions before it [{type, name, version}] (revert_package).';
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_package', '');

-- The package bundle's package member {id, version, description?}, checked: 22023 at
-- /package..., 42602 a bad id.
CREATE FUNCTION metadata._package_of(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM metadata._require(bundle, 'bundle');
    IF jsonb_typeof(bundle) <> 'object' OR jsonb_typeof(bundle -> 'items') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'bundle must be a JSON object with an array "items"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(bundle -> 'package') IS DISTINCT FROM 'object'
       OR jsonb_typeof(bundle #> '{package,id}') IS DISTINCT FROM 'string'
       OR jsonb_typeof(bundle #> '{package,version}') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'a package bundle needs "package": {"id": ..., "version": ...} (at /package)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM metadata._require_name(bundle #>> '{package,id}', 'package id');
    IF (bundle #>> '{package,version}') = '' OR length(bundle #>> '{package,version}') > 64 THEN
        RAISE EXCEPTION '/package/version must be 1 to 64 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN bundle -> 'package';
END
$fn$;

-- The manifest of a package: its live system rows, sorted.
CREATE FUNCTION metadata._package_manifest(package_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce(jsonb_agg(jsonb_build_object('type', m.type, 'name', m.name, 'version', m.version,
                                                 'checksum', m.checksum) ORDER BY m.type, m.name), '[]')
    FROM metadata.sys_metadata m
    WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.package_id = _package_manifest.package_id
      AND m.state IN ('active', 'deprecated');
END;

-- The checksum of a bundle's items (what upgrade_package compares to find a re-run).
CREATE FUNCTION metadata._package_checksum(bundle jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN metadata.checksum(bundle -> 'items');

-- 42501 unless the caller is a metadata_admin.
CREATE FUNCTION metadata._require_admin(what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT metadata._is_admin() THEN
        RAISE EXCEPTION '% needs metadata_admin', what USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$fn$;

CREATE FUNCTION metadata.install_package(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg jsonb := metadata._package_of(install_package.bundle);
    pkg_id text := pkg ->> 'id';
    installed metadata.sys_metadata_package;
    bad record;
    report jsonb;
BEGIN
    PERFORM metadata._require_admin('install_package');
    SELECT * INTO installed FROM metadata.sys_metadata_package p
    WHERE p.id = pkg_id AND p.state = 'installed';
    IF FOUND THEN
        RAISE EXCEPTION 'package % is installed (version %)', pkg_id, installed.version
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Use metadata.upgrade_package to install another version.';
    END IF;
    -- The first item that is not a global system row of this package, and the member that
    -- says so.
    SELECT e.n - 1 AS i, CASE WHEN jsonb_typeof(e.item) <> 'object' THEN ''
                              WHEN e.item ? 'tenant_id' THEN '/tenant_id'
                              WHEN e.item ? 'owner' THEN '/owner'
                              WHEN coalesce(e.item ->> 'scope', 'system') <> 'system' THEN '/scope'
                              ELSE '/package_id' END AS member
    INTO bad
    FROM jsonb_array_elements(install_package.bundle -> 'items') WITH ORDINALITY AS e(item, n)
    WHERE jsonb_typeof(e.item) <> 'object' OR e.item ? 'tenant_id' OR e.item ? 'owner'
       OR coalesce(e.item ->> 'scope', 'system') <> 'system'
       OR coalesce(e.item ->> 'package_id', pkg_id) <> pkg_id
    ORDER BY e.n LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a package''s items are global rows of scope system of that package (at %)',
                        '/items/' || bad.i || bad.member
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.type, m.name, m.package_id INTO bad
    FROM jsonb_array_elements(install_package.bundle -> 'items') AS e(item)
    JOIN metadata.sys_metadata m ON m.type = e.item ->> 'type' AND m.name = e.item ->> 'name'
    WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.state IN ('active', 'deprecated')
      AND m.package_id IS NOT NULL AND m.package_id <> pkg_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% "%" belongs to package %', bad.type, bad.name, bad.package_id
            USING ERRCODE = 'duplicate_object';
    END IF;
    report := metadata.import(jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(e.item || jsonb_build_object(
                   'scope', 'system', 'package_id', pkg_id, 'package_version', pkg ->> 'version',
                   'managed_by', 'package',
                   'change_note', coalesce(e.item ->> 'change_note',
                                           'install_package ' || pkg_id || ' ' || (pkg ->> 'version')))
                   - 'checksum' ORDER BY e.n), '[]')
        FROM jsonb_array_elements(install_package.bundle -> 'items') WITH ORDINALITY AS e(item, n))));
    IF (report ->> 'written')::boolean THEN
        INSERT INTO metadata.sys_metadata_package AS p (id, version, description, checksum, manifest)
        VALUES (pkg_id, pkg ->> 'version', pkg ->> 'description',
                metadata._package_checksum(install_package.bundle), metadata._package_manifest(pkg_id))
        ON CONFLICT (id, version) DO UPDATE
            SET state = 'installed', description = EXCLUDED.description, checksum = EXCLUDED.checksum,
                manifest = EXCLUDED.manifest, published = NULL, installed_at = EXCLUDED.installed_at,
                installed_by = EXCLUDED.installed_by;
    END IF;
    RETURN jsonb_build_object('package', pkg_id, 'version', pkg ->> 'version',
                              'installed', (report ->> 'written')::boolean) || report;
END
$fn$;
COMMENT ON FUNCTION metadata.install_package(jsonb) IS
  'Installs a package bundle (the bundle format plus "package": {"id", "version", '
  '"description"?}): its items become global system rows with package_id and '
  'package_version (through import: dependencies first, all or nothing), and the registry '
  'records the version. Returns the import report with package, version and installed. '
  'Errors: 42501 unless metadata_admin, 22004, 22023 (not a package bundle, an item of '
  'another scope, tenant or package), 42602 bad id, 42710 the package is installed or an '
  'item belongs to another package.';

CREATE FUNCTION metadata.packages()
RETURNS TABLE (id text, version text, description text, items integer, checksum text,
               installed_at timestamptz, installed_by text, published boolean)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT p.id, p.version, p.description, jsonb_array_length(p.manifest), p.checksum,
           p.installed_at, p.installed_by, p.published IS NOT NULL
    FROM metadata.sys_metadata_package p
    WHERE p.state = 'installed'
    ORDER BY p.id;
END;
COMMENT ON FUNCTION metadata.packages() IS
  'The installed packages: id, version, description, number of items, checksum of the '
  'bundle''s items, when and by whom installed, whether a publish_package can be reverted.';

-- The installed version of package_id: 42704 when there is none.
CREATE FUNCTION metadata._installed_package(package_id text) RETURNS metadata.sys_metadata_package
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    found_row metadata.sys_metadata_package;
BEGIN
    PERFORM metadata._require(package_id, 'package_id');
    SELECT * INTO found_row FROM metadata.sys_metadata_package p
    WHERE p.id = _installed_package.package_id AND p.state = 'installed';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'package % is not installed', package_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN found_row;
END
$fn$;

CREATE FUNCTION metadata.uninstall_package(package_id text, keep_customisations boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    items jsonb;
    i integer;
    overlays integer := 0;
    deleted integer := 0;
BEGIN
    PERFORM metadata._require_admin('uninstall_package');
    pkg := metadata._installed_package(uninstall_package.package_id);
    IF NOT coalesce(keep_customisations, true) THEN
        overlays := metadata._archive_overlays(pkg.id);
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('type', m.type, 'name', m.name, 'metadata', m.metadata,
                                                 'extends', m.extends) ORDER BY m.type, m.name), '[]')
    INTO items
    FROM metadata.sys_metadata m
    WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.package_id = pkg.id
      AND m.state IN ('active', 'deprecated');
    -- Dependents first: the reverse of the order an import writes them in.
    FOR i IN SELECT o.n FROM unnest(metadata._import_order(items)) WITH ORDINALITY AS o(n, k) ORDER BY o.k DESC
    LOOP
        IF metadata.delete(items -> i ->> 'type', items -> i ->> 'name', 'system') THEN
            deleted := deleted + 1;
        END IF;
    END LOOP;
    UPDATE metadata.sys_metadata_package p SET state = 'uninstalled'
    WHERE p.id = pkg.id AND p.version = pkg.version;
    RETURN jsonb_build_object('package', pkg.id, 'version', pkg.version, 'deleted', deleted,
                              'customisations_deleted', overlays);
END
$fn$;
COMMENT ON FUNCTION metadata.uninstall_package(text, boolean) IS
  'Uninstalls a package: archives its system rows (dependents first; history kept) and, '
  'unless keep_customisations, every tenant''s and user''s live overlay over them; the '
  'registry row becomes uninstalled. Kept overlays then serve their items alone, as '
  'runtime-created items. Returns {package, version, deleted, customisations_deleted}. '
  'Errors: 42501 unless metadata_admin, 42704 not installed, 23503 items outside the '
  'package depend on one of its items.';

CREATE FUNCTION metadata.upgrade_package(package_id text, bundle jsonb,
                                         strategy text DEFAULT 'three-way-merge',
                                         dry_run boolean DEFAULT false,
                                         resolutions jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    info jsonb;
    report jsonb;
    st text;
    msg text;
    det text;
BEGIN
    PERFORM metadata._require_admin('upgrade_package');
    pkg := metadata._installed_package(upgrade_package.package_id);
    info := metadata._package_of(upgrade_package.bundle);
    BEGIN
        report := metadata._upgrade_package(pkg.id, pkg.version, upgrade_package.bundle,
                                            upgrade_package.strategy, upgrade_package.resolutions);
        IF coalesce(upgrade_package.dry_run, false) OR NOT (report ->> 'written')::boolean THEN
            RAISE EXCEPTION 'upgrade rolled back' USING ERRCODE = 'MDROL';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'MDROL' THEN
            RETURN report || jsonb_build_object('written', false, 'dry_run', coalesce(upgrade_package.dry_run, false));
        -- A resulting document that its type refuses: reported, nothing written.
        WHEN check_violation OR foreign_key_violation OR feature_not_supported OR invalid_recursion THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
            RETURN jsonb_build_object('package', pkg.id, 'from_version', pkg.version,
                                      'to_version', info ->> 'version', 'strategy', upgrade_package.strategy,
                                      'written', false, 'dry_run', coalesce(upgrade_package.dry_run, false),
                                      'error', jsonb_build_object('sqlstate', st, 'message', msg,
                                                                  'detail', nullif(det, '')));
    END;
    -- The same version again, nothing changed: the registry stays as it is.
    IF pkg.version = info ->> 'version' AND pkg.checksum = metadata._package_checksum(upgrade_package.bundle)
       AND pkg.manifest = metadata._package_manifest(pkg.id) THEN
        RETURN report || jsonb_build_object('dry_run', false);
    END IF;
    IF pkg.version <> info ->> 'version' THEN
        UPDATE metadata.sys_metadata_package p SET state = 'superseded'
        WHERE p.id = pkg.id AND p.version = pkg.version;
    END IF;
    INSERT INTO metadata.sys_metadata_package AS p (id, version, description, checksum, manifest)
    VALUES (pkg.id, info ->> 'version', coalesce(info ->> 'description', pkg.description),
            metadata._package_checksum(upgrade_package.bundle), metadata._package_manifest(pkg.id))
    ON CONFLICT (id, version) DO UPDATE
        SET state = 'installed', description = EXCLUDED.description, checksum = EXCLUDED.checksum,
            manifest = EXCLUDED.manifest,
            published = CASE WHEN p.manifest = EXCLUDED.manifest THEN p.published END,
            installed_at = CASE WHEN p.manifest = EXCLUDED.manifest AND p.state = 'installed'
                                THEN p.installed_at ELSE EXCLUDED.installed_at END,
            installed_by = CASE WHEN p.manifest = EXCLUDED.manifest AND p.state = 'installed'
                                THEN p.installed_by ELSE EXCLUDED.installed_by END;
    RETURN report || jsonb_build_object('dry_run', false);
END
$fn$;
COMMENT ON FUNCTION metadata.upgrade_package(text, jsonb, text, boolean, jsonb) IS
  'Upgrades an installed package to the package bundle''s version: its system rows take the '
  'new documents, items it no longer ships become deprecated, and every overlay of every '
  'tenant and user over a changed item is merged (old base O, new base N, customisation C, '
  'per JSON Pointer; arrays are single values) and stored as the minimal RFC 7396 patch '
  'over N (base_checksum refreshed; history op upgrade). strategy: three-way-merge (a path '
  'both changed differently is a conflict), keep-custom (C stays: masked), accept-incoming '
  '(N wins: overwritten). A conflict writes nothing: the report lists it; resolutions '
  '[{type, name, path, tenant_id?, scope?, owner?, resolution: custom|incoming|value, '
  'value?}] finish it. Every resulting effective document is checked as save checks it. '
  'dry_run runs everything and writes nothing. Re-running the same upgrade changes nothing. '
  'Returns {package, from_version, to_version, strategy, written, dry_run, counts, items, '
  'overlays, findings: [{tenant_id, type, name, scope, owner, path, old_base, new_base, '
  'custom, kind, outcome}], error?}, findings ordered by item, tenant, layer, owner, path. '
  'Errors: 42501 unless metadata_admin, 42704 not installed or unknown type, 22004, 22023 '
  '(bad bundle, strategy or resolutions, with a JSON Pointer), 42602, 42710.';

CREATE FUNCTION metadata.publish_package(package_id text, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    d record;
    before jsonb[] := '{}';
    done jsonb[] := '{}';
    published metadata.sys_metadata;
    failed record;
    types text[];
BEGIN
    PERFORM metadata._require_admin('publish_package');
    pkg := metadata._installed_package(publish_package.package_id);
    FOR d IN
        SELECT m.id, m.type, m.name::text AS name, m.package_id, m.package_version, m.managed_by,
               (SELECT l.version FROM metadata.sys_metadata l
                WHERE l.tenant_id IS NULL AND l.scope = 'system' AND l.type = m.type AND l.name = m.name
                  AND l.state IN ('active', 'deprecated')) AS live_version
        FROM metadata.sys_metadata m
        WHERE m.tenant_id IS NULL AND m.scope = 'system' AND m.state = 'draft'
          AND (m.package_id = pkg.id
               OR (m.type, m.name::text) IN (SELECT e ->> 'type', e ->> 'name'
                                             FROM jsonb_array_elements(pkg.manifest) e))
        ORDER BY m.type, m.name
    LOOP
        before := before || jsonb_build_object('type', d.type, 'name', d.name, 'version', d.live_version);
        -- The draft goes live with the package's provenance (publish takes the draft's
        -- attributes).
        IF (d.package_id, d.package_version, d.managed_by) IS DISTINCT FROM (pkg.id, pkg.version, 'package') THEN
            UPDATE metadata.sys_metadata m
            SET package_id = pkg.id, package_version = pkg.version, managed_by = 'package'
            WHERE m.id = d.id;
        END IF;
        published := metadata.publish(d.type, d.name, 'system', change_note => publish_package.note);
        done := done || jsonb_build_object('type', d.type, 'name', d.name, 'version', published.version);
        types := types || d.type;
    END LOOP;
    -- Every effective document of the published items, for every tenant and user, against
    -- its type's schema where the type is strict: one failure and nothing is published.
    SELECT count(*) AS n, string_agg(concat_ws(' ', f.type, '"' || f.name || '"',
                                               'of tenant ' || f.tenant_id, 'of user ' || f.owner, f.errors::text),
                                     E'\n' ORDER BY f.type, f.name, f.tenant_id, f.owner) AS lines
    INTO failed
    FROM (SELECT DISTINCT t FROM unnest(types) t) u
    JOIN metadata.sys_metadata_type ty ON ty.name = u.t AND ty.validation_mode = 'strict',
         LATERAL (SELECT u.t AS type, r.* FROM metadata._revalidate(u.t, true) r) f
    WHERE EXISTS (SELECT FROM unnest(done) x WHERE x ->> 'type' = f.type AND x ->> 'name' = f.name);
    IF failed.n > 0 THEN
        RAISE EXCEPTION 'publishing package % would leave % effective document(s) invalid', pkg.id, failed.n
            USING ERRCODE = 'check_violation', DETAIL = left(failed.lines, 4000);
    END IF;
    IF cardinality(done) > 0 THEN
        UPDATE metadata.sys_metadata_package p
        SET published = to_jsonb(before), manifest = metadata._package_manifest(pkg.id)
        WHERE p.id = pkg.id AND p.version = pkg.version;
    END IF;
    RETURN jsonb_build_object('package', pkg.id, 'version', pkg.version, 'published', to_jsonb(done));
END
$fn$;
COMMENT ON FUNCTION metadata.publish_package(text, text) IS
  'Publishes every draft of the package''s system rows in one transaction (as publish, '
  'change note note), after checking every resulting effective document of every tenant '
  'and user against its strict type''s schema: all or nothing. Records the versions before '
  'it for revert_package. Returns {package, version, published: [{type, name, version}]}. '
  'Errors: 42501 unless metadata_admin, 42704 not installed, 23514 an effective document '
  'would be invalid (DETAIL lists them), and those of publish.';

CREATE FUNCTION metadata.revert_package(package_id text, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    pkg metadata.sys_metadata_package;
    e jsonb;
    reverted jsonb[] := '{}';
    row_now metadata.sys_metadata;
BEGIN
    PERFORM metadata._require_admin('revert_package');
    pkg := metadata._installed_package(revert_package.package_id);
    IF pkg.published IS NULL THEN
        RAISE EXCEPTION 'package % has no publish to revert', pkg.id USING ERRCODE = 'no_data_found';
    END IF;
    FOR e IN SELECT x FROM jsonb_array_elements(pkg.published) x ORDER BY x ->> 'type', x ->> 'name'
    LOOP
        IF e -> 'version' = 'null' THEN
            PERFORM metadata.delete(e ->> 'type', e ->> 'name', 'system', cascade => true);
            reverted := reverted || (e || '{"status": "deleted"}');
        ELSE
            row_now := metadata.rollback(e ->> 'type', e ->> 'name', (e ->> 'version')::integer,
                                         coalesce(revert_package.note, 'revert_package ' || pkg.id), 'system');
            reverted := reverted || (e || jsonb_build_object('status', 'reverted', 'version', row_now.version));
        END IF;
    END LOOP;
    UPDATE metadata.sys_metadata_package p
    SET published = NULL, manifest = metadata._package_manifest(pkg.id)
    WHERE p.id = pkg.id AND p.version = pkg.version;
    RETURN jsonb_build_object('package', pkg.id, 'version', pkg.version, 'reverted', to_jsonb(reverted));
END
$fn$;
COMMENT ON FUNCTION metadata.revert_package(text, text) IS
  'Returns the package''s system rows to the versions before the last publish_package (as '
  'rollback, op revert; an item the publish created is archived). Returns {package, '
  'version, reverted: [{type, name, version, status}]}. Errors: 42501 unless '
  'metadata_admin, 42704 not installed, P0002 nothing to revert, and those of rollback.';
