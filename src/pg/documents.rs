//! Document functions: checksums, canonical text, RFC 7396 merge, RFC 6902 diff. Wrapped by
//! `metadata.checksum`, `metadata.canonical`, `metadata.merge_patch`, `metadata.diff` in
//! `sql/documents.sql` and `sql/history.sql`.
//! They take jsonb as text so that the size and depth limits are checked *before* parsing.

use crate::core::canonical::{canonical_json, checksum};
use crate::core::document::{parse_document, parse_value};
use crate::core::resolve::merge_patch;
use crate::pg::errors::raise_document;
use pgrx::prelude::*;
use pgrx::JsonB;

/// `sha256:<hex>` of the canonical JSON of any JSON value (text of a jsonb).
/// Errors: 54000 (over 4 MiB), 54001 (nested over 100 levels).
#[pg_extern(immutable, parallel_safe, strict)]
pub(crate) fn _checksum(doc: &str) -> String {
    checksum(&parse_value(doc).unwrap_or_else(|e| raise_document(e)))
}

/// Checksum of a metadata document (text of a jsonb), which must be a JSON object (0.1.0's
/// write trigger called it as `metadata._document_checksum`). Errors: 22023 (not an
/// object), 54000, 54001.
pub(crate) fn checksum_of_document(doc: &str) -> String {
    checksum(&parse_document(doc).unwrap_or_else(|e| raise_document(e)))
}

/// Canonical JSON text (keys sorted, no whitespace) of any JSON value.
#[pg_extern(immutable, parallel_safe, strict)]
pub(crate) fn _canonical(doc: &str) -> String {
    canonical_json(&parse_value(doc).unwrap_or_else(|e| raise_document(e)))
}

/// RFC 7396 JSON Merge Patch of `patch` onto `target` (both texts of jsonb).
#[pg_extern(immutable, parallel_safe, strict)]
pub(crate) fn _merge_patch(target: &str, patch: &str) -> JsonB {
    let mut target = parse_value(target).unwrap_or_else(|e| raise_document(e));
    let patch = parse_value(patch).unwrap_or_else(|e| raise_document(e));
    merge_patch(&mut target, &patch);
    JsonB(target)
}

/// RFC 6902 JSON Patch turning `a` into `b` (texts of jsonb), bounded in size
/// (`crate::core::diff`).
#[pg_extern(immutable, parallel_safe, strict)]
pub(crate) fn _diff(a: &str, b: &str) -> JsonB {
    let a = parse_value(a).unwrap_or_else(|e| raise_document(e));
    let b = parse_value(b).unwrap_or_else(|e| raise_document(e));
    JsonB(crate::core::diff::diff(&a, &b))
}
