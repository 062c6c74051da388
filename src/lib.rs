//! `metadata`: a PostgreSQL extension that stores, layers, validates and versions the
//! metadata documents of a low-code platform. See `DESIGN.md` of the product and the
//! README. Pure logic lives in [`core`]; the thin pgrx layer in [`pg`].

pub mod core;

::pgrx::pg_module_magic!(name, version);
pub mod pg;

/// Called by Postgres when the library is loaded: defines the extension's settings and,
/// when it is preloaded (`shared_preload_libraries`), asks for its shared memory.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::settings::define();
    pg::worker::define();
    pg::shared::init();
}

// The extension script, in order: the name rules and the write trigger's function (Rust),
// the tables, then the other Rust functions (`metadata._*`) and the SQL API that wraps them
// (SQL-body functions need their callees to exist); the privileges rule last.
pgrx::extension_sql_file!(
    "../sql/schema.sql",
    name = "schema",
    requires = [
        pg::key::_is_machine_name,
        pg::key::_is_type_name,
        pg::binding::_current_tenant,
        pg::trigger::sys_metadata_before_write
    ]
);
pgrx::extension_sql_file!(
    "../sql/documents.sql",
    name = "documents",
    requires = [
        pg::documents::_checksum,
        pg::documents::_canonical,
        pg::documents::_merge_patch
    ]
);
pgrx::extension_sql_file!(
    "../sql/effective.sql",
    name = "effective",
    requires = [
        pg::resolution::_effective,
        pg::resolution::_effective_all,
        pg::resolution::_explain
    ]
);
pgrx::extension_sql_file!(
    "../sql/arguments.sql",
    name = "arguments",
    requires = ["schema", pg::key::_is_machine_name]
);
pgrx::extension_sql_file!(
    "../sql/items.sql",
    name = "items",
    requires = [
        "arguments",
        pg::key::_layer_key,
        pg::write::_save,
        pg::write::_publish,
        pg::write::_delete
    ]
);
pgrx::extension_sql_file!(
    "../sql/bulk.sql",
    name = "bulk",
    requires = ["items", pg::bulk::_bulk_save]
);
pgrx::extension_sql_file!(
    "../sql/history.sql",
    name = "history",
    requires = [
        "items",
        pg::documents::_diff,
        pg::history::sys_metadata_after_write,
        pg::history::sys_metadata_after_replicated_write,
        pg::key::_describe,
        pg::write::_rollback,
        pg::retention::_feed_bounds,
        pg::retention::_prune_history,
        pg::retention::_wait_for_feed,
        pg::stats::_stats
    ]
);
pgrx::extension_sql_file!(
    "../sql/types.sql",
    name = "types",
    requires = [
        "history",
        "bulk",
        pg::validation::_validate,
        pg::validation::_is_valid,
        pg::validation::_check_schema,
        pg::validation::_builtin_types
    ]
);
pgrx::extension_sql_file!(
    "../sql/catalog.sql",
    name = "catalog",
    requires = ["schema"]
);
pgrx::extension_sql_file!(
    "../sql/import.sql",
    name = "import",
    requires = ["catalog", pg::dependencies::_import_order]
);
pgrx::extension_sql_file!(
    "../sql/dependencies.sql",
    name = "dependencies",
    requires = [
        "schema",
        pg::dependencies::_dependencies,
        pg::dependencies::_dependents,
        pg::revalidate::_revalidate
    ]
);
pgrx::extension_sql_file!(
    "../sql/packages.sql",
    name = "packages",
    requires = [
        "import",
        "dependencies",
        pg::packages::_upgrade_package,
        pg::packages::_archive_overlays
    ]
);
pgrx::extension_sql_file!(
    "../sql/release.sql",
    name = "release",
    requires = ["schema", pg::release::_library_version]
);
pgrx::extension_sql_file!(
    "../sql/security.sql",
    name = "security",
    finalize,
    requires = [pg::binding::sys_metadata_tenant_binding_changed]
);

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required at the crate root by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    /// One-off set-up when the `#[pg_test]` framework starts: nothing needed.
    pub fn setup(_options: Vec<&str>) {}

    /// postgresql.conf settings the `#[pg_test]` cluster needs: none.
    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
