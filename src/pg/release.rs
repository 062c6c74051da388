//! The library's version, for `metadata.version()` (sql/release.sql), which sets it beside
//! the version of the SQL installed in the database (`pg_extension.extversion`): after the
//! library is replaced they differ until `ALTER EXTENSION metadata UPDATE` runs.

use pgrx::prelude::*;

/// The version of this library (Cargo's package version, semver).
#[pg_extern(immutable, parallel_safe)]
pub(crate) fn _library_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
