-- metadata: tables, constraints, indexes and the write trigger (DESIGN §2).
-- Runs early in the extension script, after the name rules and the write trigger's function
-- (Rust, src/pg/key.rs and src/pg/trigger.rs); the schema `metadata` comes from
-- metadata.control.

-- The caller's context (DESIGN §1). Empty counts as unset.

-- Tenant of the caller: `SET metadata.tenant_id`; NULL is the global space. A role bound to
-- tenants (sys_metadata_tenant_binding, sql/security.sql) may act only for those.
CREATE FUNCTION metadata.current_tenant() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN metadata._current_tenant();
COMMENT ON FUNCTION metadata.current_tenant() IS
  'Tenant of the caller: the setting metadata.tenant_id, NULL when unset or empty (the global '
  'space). Errors: 42501 when the login or the current role is bound to other tenants '
  '(metadata.bind_tenant).';

-- User of the caller: `SET metadata.user_id`; NULL when unset.
CREATE FUNCTION metadata.current_user_id() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(current_setting('metadata.user_id', true), '');
COMMENT ON FUNCTION metadata.current_user_id() IS
  'User of the caller: the setting metadata.user_id, NULL when unset or empty.';

-- Who is recorded in audit columns: metadata.user_id, else the database role.
CREATE FUNCTION metadata.current_actor() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(nullif(current_setting('metadata.user_id', true), ''), current_user::text);
COMMENT ON FUNCTION metadata.current_actor() IS
  'Who is recorded in created_by/updated_by: metadata.user_id, else current_user.';

-- Whether this session restores a dump. pg_dump's plain output and pg_restore both set
-- row_security = off; with it, writing the extension's tables (row level security forced)
-- is an error for every role but those that bypass row level security, and the login
-- (session_user) must be such a role too, so neither a caller nor a function it calls can
-- claim to be a restore. A restore brings rows back as they were: no history row, no feed
-- position, version and audit columns as given.
CREATE FUNCTION metadata._restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.current_setting('row_security') = 'off'
   AND (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = session_user);

-- Machine names of items, namespaces and extends: a letter or underscore, then letters,
-- digits, '_', '.', '-'; at most 128 characters. Quotes, spaces and SQL metacharacters
-- are refused. The rule is the library's (src/core/names.rs), for every caller.
CREATE DOMAIN metadata.machine_name AS text
  CONSTRAINT machine_name_check CHECK (metadata._is_machine_name(VALUE));
COMMENT ON DOMAIN metadata.machine_name IS
  'Machine name: ^[A-Za-z_][A-Za-z0-9_.-]{0,127}$ (no quotes, spaces or SQL metacharacters).';

-- Metadata types (DESIGN §4 "Types"). The built-in registrations are inserted at the end
-- of the extension script (sql/types.sql, from src/schemas/). pg_dump keeps the types users
-- registered and the built-in ones they changed; on restore, a row for a name that exists
-- updates it (trigger below).
CREATE TABLE metadata.sys_metadata_type (
    name                 text PRIMARY KEY
                         CONSTRAINT sys_metadata_type_name_check CHECK (metadata._is_type_name(name)),
    domain               text NOT NULL
                         CHECK (domain IN ('data', 'ui', 'automation', 'system', 'security', 'ai')),
    description          text,
    -- JSON Schema of the effective documents of the type; NULL: no schema check.
    schema               jsonb CHECK (jsonb_typeof(schema) IN ('object', 'boolean')),
    -- Checksum of schema, maintained by the trigger; validators are cached by it.
    schema_checksum      text,
    validation_mode      text NOT NULL DEFAULT 'strict'
                         CHECK (validation_mode IN ('strict', 'lenient', 'off')),
    -- JSON Pointers (RFC 6901) that overlays may not change.
    locked_paths         text[] NOT NULL DEFAULT '{}',
    -- [{"path": JSON Pointer with * for every member, "type": target type}]: names of
    -- other items (used for dependencies; checked when check_references).
    reference_paths      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(reference_paths) = 'array'),
    -- Whether writes of a strict type check that reference paths name existing items. Off
    -- for the built-in types: real apps name platform-provided items (sys_user, the
    -- "default" datasource) that are not stored here.
    check_references     boolean NOT NULL DEFAULT true,
    supports_overlay     boolean NOT NULL DEFAULT true,
    allow_runtime_create boolean NOT NULL DEFAULT true,
    supports_versioning  boolean NOT NULL DEFAULT true,
    load_order           integer NOT NULL DEFAULT 100,
    builtin              boolean NOT NULL DEFAULT false,
    customised           boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metadata.sys_metadata_type IS
  'Registered metadata types (metadata.register_type): saving an item of an unregistered type '
  'is an error (42704).';

SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_type', 'WHERE NOT builtin OR customised');

-- Keeps schema_checksum true and customised true of a built-in type exactly when its
-- registration differs from the library's (metadata._customised: only customised built-in
-- types are dumped); an INSERT of an existing name updates that row instead (what
-- pg_restore does with a changed built-in type). It fires always, also for the rows a
-- logical replication subscription applies (session_replication_role = replica): those
-- carry the publisher's values and are kept as they are, and the built-in types that
-- CREATE EXTENSION registered on the subscriber are updated by the initial copy instead
-- of conflicting with it (docs/scale-out.md "Logical replicas").
CREATE FUNCTION metadata.sys_metadata_type_before_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF current_setting('session_replication_role') = 'replica' THEN
        IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = NEW.name) THEN
            UPDATE metadata.sys_metadata_type t
            SET domain = NEW.domain, description = NEW.description, schema = NEW.schema,
                schema_checksum = NEW.schema_checksum, validation_mode = NEW.validation_mode,
                locked_paths = NEW.locked_paths, reference_paths = NEW.reference_paths,
                check_references = NEW.check_references, supports_overlay = NEW.supports_overlay,
                allow_runtime_create = NEW.allow_runtime_create,
                supports_versioning = NEW.supports_versioning, load_order = NEW.load_order,
                builtin = NEW.builtin, customised = NEW.customised,
                created_at = NEW.created_at, updated_at = NEW.updated_at
            WHERE t.name = NEW.name;
            RETURN NULL;
        END IF;
        RETURN NEW;
    END IF;
    NEW.schema_checksum := CASE WHEN NEW.schema IS NULL THEN NULL
                                ELSE metadata.checksum(NEW.schema) END;
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM metadata.sys_metadata_type t WHERE t.name = NEW.name) THEN
        UPDATE metadata.sys_metadata_type t
        SET domain = NEW.domain, description = NEW.description, schema = NEW.schema,
            validation_mode = NEW.validation_mode, locked_paths = NEW.locked_paths,
            reference_paths = NEW.reference_paths, check_references = NEW.check_references,
            supports_overlay = NEW.supports_overlay,
            allow_runtime_create = NEW.allow_runtime_create,
            supports_versioning = NEW.supports_versioning, load_order = NEW.load_order
        WHERE t.name = NEW.name;
        RETURN NULL;
    END IF;
    IF NEW.builtin THEN
        NEW.customised := metadata._customised(NEW);
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER sys_metadata_type_before_write
    BEFORE INSERT OR UPDATE ON metadata.sys_metadata_type
    FOR EACH ROW EXECUTE FUNCTION metadata.sys_metadata_type_before_write();
ALTER TABLE metadata.sys_metadata_type ENABLE ALWAYS TRIGGER sys_metadata_type_before_write;

-- The record (DESIGN §2): one row per (tenant, type, name, scope, owner) layer and state.
CREATE TABLE metadata.sys_metadata (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       text CHECK (tenant_id <> '' AND length(tenant_id) <= 128),
    type            text NOT NULL REFERENCES metadata.sys_metadata_type (name) ON UPDATE CASCADE,
    name            metadata.machine_name NOT NULL,
    namespace       metadata.machine_name NOT NULL DEFAULT 'default',
    scope           text NOT NULL DEFAULT 'platform'
                    CHECK (scope IN ('system', 'platform', 'user')),
    owner           text CHECK (owner <> '' AND length(owner) <= 128),
    strategy        text NOT NULL DEFAULT 'merge' CHECK (strategy IN ('merge', 'replace')),
    extends         metadata.machine_name,
    metadata        jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'active'
                    CHECK (state IN ('draft', 'active', 'archived', 'deprecated')),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    checksum        text NOT NULL DEFAULT '',
    base_checksum   text,
    source          text NOT NULL DEFAULT 'database'
                    CHECK (source IN ('filesystem', 'database', 'api', 'migration')),
    managed_by      text NOT NULL DEFAULT 'platform'
                    CHECK (managed_by IN ('package', 'platform', 'user')),
    package_id      text,
    package_version text,
    tags            text[] NOT NULL DEFAULT '{}',
    created_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Of a draft: the version of the live row it was saved over (publish checks it).
    base_version    integer,
    -- A user layer belongs to one user; no other layer has an owner.
    CONSTRAINT sys_metadata_owner_iff_user CHECK ((scope = 'user') = (owner IS NOT NULL)),
    -- System rows are shipped by packages for everyone: they are global.
    CONSTRAINT sys_metadata_system_is_global CHECK (scope <> 'system' OR tenant_id IS NULL),
    CONSTRAINT sys_metadata_document_is_object CHECK (jsonb_typeof(metadata) = 'object')
);
COMMENT ON TABLE metadata.sys_metadata IS
  'Metadata documents, one row per layer (tenant, type, name, scope, owner) and state. '
  'version, checksum and audit columns are maintained by a trigger.';

-- One live (active or deprecated) row and at most one draft row per layer key. The tenant
-- leads, so every lookup of one tenant (or of the global rows) is an index range.
CREATE UNIQUE INDEX sys_metadata_live_key ON metadata.sys_metadata
    (tenant_id, type, name, scope, owner) NULLS NOT DISTINCT
    WHERE state IN ('active', 'deprecated');
CREATE UNIQUE INDEX sys_metadata_draft_key ON metadata.sys_metadata
    (tenant_id, type, name, scope, owner) NULLS NOT DISTINCT
    WHERE state = 'draft';
-- Every state, for previews, archived rows and catalog queries.
CREATE INDEX sys_metadata_lookup ON metadata.sys_metadata (tenant_id, type, name);
-- One user's layers, so that reading all items of a type for a user skips other users'.
CREATE INDEX sys_metadata_user_layers ON metadata.sys_metadata (tenant_id, owner, type, name)
    WHERE scope = 'user';

SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata', '');

-- Dependency edges (DESIGN §4 "Catalog"): one row per reference a live layer row's own
-- document makes at its type's reference paths (src/core/references.rs), kept by the
-- history trigger as the extension (callers cannot write them), read under the same row
-- level security as the layer row. metadata.dependents and the delete check confirm a
-- candidate on its effective document (an overlay may change what its base names).
CREATE TABLE metadata.sys_metadata_reference (
    item_id     uuid NOT NULL,
    tenant_id   text,
    type        text NOT NULL,
    name        text NOT NULL,
    scope       text NOT NULL,
    owner       text,
    -- The JSON Pointer (RFC 6901) of the reference in the row's document.
    path        text NOT NULL,
    target_type text NOT NULL,
    target_name text NOT NULL,
    PRIMARY KEY (item_id, path, target_type)
);
COMMENT ON TABLE metadata.sys_metadata_reference IS
  'Dependency edges: the items each live layer row names at its type''s reference paths '
  '(kept by the extension; see metadata.dependencies and metadata.dependents).';
CREATE INDEX sys_metadata_reference_target ON metadata.sys_metadata_reference (target_type, target_name);
SELECT pg_catalog.pg_extension_config_dump('metadata.sys_metadata_reference', '');

-- The write trigger (src/pg/trigger.rs, function sys_metadata_before_write in Rust): for
-- every write, save() or plain SQL, the extension decides version, checksum, base_checksum,
-- base_version and the audit columns (another value given: 428C9 generated_always), an
-- UPDATE cannot move a row to another layer key (428C9), and a live or draft row is checked
-- as save() checks it: resolution, the type's rules, the JSON Schema of the effective
-- document. References are checked at commit (the commit step, src/pg/feed.rs).
CREATE TRIGGER sys_metadata_before_write
    BEFORE INSERT OR UPDATE ON metadata.sys_metadata
    FOR EACH ROW EXECUTE FUNCTION metadata.sys_metadata_before_write();
