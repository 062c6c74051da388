//! Functions that an upgrade script binds, uses and drops again (so that an updated
//! database has the catalog of a fresh install): `#[pg_extern(sql = false)]`, the symbol
//! without SQL.
//!
//! 0.1.0 → 0.2.0: checksums become ObjectStack's `hashSpec` (RFC 8785 numbers and key
//! order, `crate::core::canonical`). The script recomputes every stored checksum from its
//! document; a `base_checksum` names a document that is stored nowhere (what was below an
//! overlay when it was written), so it is recognised instead: if it is the old or the new
//! checksum of what is below the overlay now, it becomes the new one, else (a stale
//! overlay) it is kept, and the overlay stays stale. Only items with a layer whose forms
//! can differ (`_form_sensitive`) or an `extends` are resolved for this. `tests/upgrade/age.sql` binds the
//! same symbols to turn a database loaded by this library into what 0.1.0's stored.

use crate::core::canonical::{checksum, checksum_v1};
use crate::pg::errors::raise_document;
use crate::pg::jsonb::JsonbBytes;
use crate::pg::resolution::below_document;
use pgrx::prelude::*;

/// 0.1.0's checksum of `doc` (`metadata._checksum_v1(jsonb)` while an upgrade runs).
#[pg_extern(sql = false, immutable, parallel_safe)]
fn _checksum_v1(doc: JsonbBytes) -> String {
    checksum_v1(&doc.to_document().unwrap_or_else(|e| raise_document(e)))
}

/// `{new, old}` checksums of what is below a layer now (arguments as
/// `metadata._below_checksum` of 0.1.0, plus `preview`: true for a draft row, whose author
/// saw the drafts below); NULL when nothing is below. Errors: 22004, 22023.
#[pg_extern(sql = false, stable)]
fn _below_checksums(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
    preview: Option<bool>,
) -> Option<Vec<String>> {
    let below = below_document(
        type_name,
        name,
        scope,
        tenant,
        owner,
        extends,
        preview.unwrap_or(false),
    )?;
    Some(vec![checksum(&below), checksum_v1(&below)])
}

/// Whether the 0.1.0 and 0.2.0 canonical forms of a document, or of a merge of it with
/// others, can differ: it has a number not written in its ECMAScript form, or a key that is
/// an array index or not ASCII. A base checksum over documents none of which is sensitive
/// is the same in both forms and needs no resolution to migrate.
#[pg_extern(sql = false, immutable, parallel_safe)]
fn _form_sensitive(doc: JsonbBytes) -> bool {
    crate::core::canonical::form_sensitive(&doc.to_document().unwrap_or_else(|e| raise_document(e)))
}
