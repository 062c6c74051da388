//! `metadata`: a PostgreSQL extension that stores, layers, validates and versions the
//! metadata documents of a low-code platform. See `DESIGN.md` of the product and the
//! README. Pure logic lives in [`core`]; the thin pgrx layer in [`pg`].

pub mod core;

::pgrx::pg_module_magic!(name, version);
pub mod pg;

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/api.sql", name = "api", finalize);

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
