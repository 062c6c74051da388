//! The C symbols that earlier releases' install scripts bind, kept so that an old install
//! script never points at a missing symbol (`CREATE EXTENSION metadata VERSION '0.1.0'`
//! works with this library, and a database keeps working between the library being
//! replaced and `ALTER EXTENSION metadata UPDATE`).
//!
//! The rule (README, "Upgrading"): a SQL-callable Rust function is named as its SQL
//! function (`_effective` binds the symbol `_effective_wrapper`), its name and argument
//! list never change, and a function that is renamed or removed keeps its symbol here
//! (`#[pg_extern(sql = false)]`: the symbol, no SQL), delegating to the current code with
//! the old behaviour, or raising a clear error naming `ALTER EXTENSION metadata UPDATE`
//! when the old behaviour cannot be kept.
//!
//! 0.1.0 bound its functions under Rust names that differed from their SQL names; each is
//! listed below with the function that replaced it.

use crate::pg::jsonb::JsonbBytes;
use crate::pg::types::type_info;
use crate::pg::{checks, documents, resolution, validation};
use pgrx::prelude::*;
use pgrx::JsonB;

/// 0.1.0's `metadata._checksum` (symbol `checksum_of_wrapper`).
#[pg_extern(sql = false)]
fn checksum_of(doc: &str) -> String {
    documents::_checksum(doc)
}

/// 0.1.0's `metadata._document_checksum`.
#[pg_extern(sql = false)]
fn document_checksum(doc: &str) -> String {
    documents::checksum_of_document(doc)
}

/// 0.1.0's `metadata._canonical`.
#[pg_extern(sql = false)]
fn canonical(doc: &str) -> String {
    documents::_canonical(doc)
}

/// 0.1.0's `metadata._merge_patch`.
#[pg_extern(sql = false)]
fn merge_patch_of(target: &str, patch: &str) -> JsonB {
    documents::_merge_patch(target, patch)
}

/// 0.1.0's `metadata._diff`.
#[pg_extern(sql = false)]
fn diff_of(a: &str, b: &str) -> JsonB {
    documents::_diff(a, b)
}

/// 0.1.0's `metadata._effective`.
#[pg_extern(sql = false)]
fn effective(
    type_name: Option<&str>,
    name: Option<&str>,
    preview: Option<bool>,
) -> Option<JsonbBytes> {
    resolution::_effective(type_name, name, preview)
}

/// 0.1.0's `metadata._below_checksum` (used by 0.1.0's `save`).
#[pg_extern(sql = false)]
fn below_checksum(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
) -> Option<String> {
    resolution::below_checksum_of(type_name, name, scope, tenant, owner, extends)
}

/// 0.1.0's `metadata._effective_all`.
#[pg_extern(sql = false)]
fn effective_all(
    type_name: Option<&str>,
    preview: Option<bool>,
) -> TableIterator<'static, (name!(name, String), name!(doc, JsonbBytes))> {
    resolution::_effective_all(type_name, preview)
}

/// 0.1.0's `metadata._explain`.
#[allow(clippy::type_complexity)]
#[pg_extern(sql = false)]
fn explain(
    type_name: Option<&str>,
    name: Option<&str>,
    preview: Option<bool>,
) -> TableIterator<
    'static,
    (
        name!(ordinal, i32),
        name!(item, String),
        name!(scope, String),
        name!(tenant_id, Option<String>),
        name!(owner, Option<String>),
        name!(strategy, String),
        name!(state, String),
        name!(version, i32),
        name!(extends, Option<String>),
        name!(checksum, String),
        name!(base_checksum, Option<String>),
        name!(stale, bool),
    ),
> {
    resolution::_explain(type_name, name, preview)
}

/// 0.1.0's `metadata._check_write` (used by 0.1.0's `save` and `publish`).
#[allow(clippy::too_many_arguments)]
#[pg_extern(sql = false)]
fn check_write(
    type_name: &str,
    name: &str,
    scope: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
    draft: bool,
) {
    let scope = crate::pg::errors::parse_scope(scope);
    let key = checks::stored_key(type_name, name, scope, tenant, owner);
    checks::check_layer(&type_info(type_name), &key, extends, draft, None, None);
}

/// 0.1.0's `metadata._check_references` (0.1.0's commit-time reference trigger).
#[pg_extern(sql = false)]
fn check_references(type_name: &str, name: &str, tenant: Option<&str>, owner: Option<&str>) {
    checks::check_references(type_name, name, tenant, owner)
}

/// 0.1.0's `metadata._validate`.
#[pg_extern(sql = false)]
fn validate(type_name: Option<&str>, doc: Option<&str>) -> JsonB {
    validation::_validate(type_name, doc)
}

/// 0.1.0's `metadata._is_valid`.
#[pg_extern(sql = false)]
fn is_valid(type_name: Option<&str>, doc: Option<&str>) -> bool {
    validation::_is_valid(type_name, doc)
}

/// 0.1.0's `metadata._check_schema`.
#[pg_extern(sql = false)]
fn check_schema(type_name: Option<&str>, schema: Option<&str>) {
    validation::_check_schema(type_name, schema)
}

/// 0.1.0's `metadata._builtin_types` (symbol `builtin_wrapper`).
#[pg_extern(sql = false)]
fn builtin() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(domain, String),
        name!(schema, JsonB),
        name!(reference_paths, JsonB),
        name!(locked_paths, Vec<String>),
    ),
> {
    validation::_builtin_types()
}
