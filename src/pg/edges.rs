//! The dependency edges (DESIGN §4 "Catalog"): what each live layer row's own document
//! names at its type's reference paths (`crate::core::references`), one row per reference
//! in `metadata.sys_metadata_reference`. The history trigger keeps them for every write
//! (the API's or plain SQL), as the extension's owner (callers cannot write them; they
//! read them under the row level security of `sys_metadata`); a change of a type's
//! reference paths rebuilds its edges. What the edges are used for is
//! `crate::pg::dependencies`.

use crate::core::references::{parse_paths, references, Reference};
use crate::pg::dependencies::check_delete;
use crate::pg::owner::{as_extension_owner, as_role, require_admin};
use crate::pg::statements::{run, TEXT, TEXT_ARRAY};
use crate::pg::tuple::Tuple;
use crate::pg::types::type_info;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// Whether a stored row is live (active or deprecated): only live rows have edges.
pub fn is_live(row: &Tuple) -> bool {
    matches!(row.text("state").as_deref(), Some("active" | "deprecated"))
}

/// The references a stored row's document makes (none unless the row is live).
fn row_references(row: &Tuple, paths: &[(String, String)]) -> Vec<Reference> {
    if !is_live(row) {
        return Vec::new();
    }
    // A stored document was parsed when written; one that no longer parses names nothing.
    row.doc()
        .to_document()
        .map(|doc| references(&doc, paths))
        .unwrap_or_default()
}

/// The after-write step of the history trigger, for every write (the API's or plain
/// SQL): a live row that stops being live (archived, or deleted) by plain SQL must not
/// leave dependents naming a missing item ([`check_delete`]; `delete(...)` checks after
/// its statement); then the row's edges are brought to what its document names now.
pub fn record(owner: pg_sys::Oid, new: Option<&Tuple>, old: Option<&Tuple>) {
    let row = new.or(old).expect("a row trigger has a row");
    if old.is_some_and(is_live)
        && !new.is_some_and(is_live)
        && crate::pg::intent::deleting_now().is_none()
    {
        check_delete(&row.key(), false);
    }
    record_edges(owner, row, new, old);
}

/// Brings the edges of the written row to what its document names now. Writes nothing
/// when the row's references did not change (most updates of a view keep its object) or
/// its type has no reference paths.
fn record_edges(owner: pg_sys::Oid, row: &Tuple, new: Option<&Tuple>, old: Option<&Tuple>) {
    let unchanged_document = match (new, old) {
        (Some(n), Some(o)) => is_live(n) == is_live(o) && n.doc() == o.doc(),
        _ => false,
    };
    if unchanged_document {
        return;
    }
    let type_name = row.text("type").unwrap_or_default();
    // The write function's (no query), else the registration's.
    let paths = crate::pg::intent::statement_reference_paths(&type_name)
        .unwrap_or_else(|| type_info(&type_name).reference_paths);
    if paths.is_empty() {
        return;
    }
    let paths = &paths;
    let after = new.map(|n| row_references(n, paths)).unwrap_or_default();
    let before = old.map(|o| row_references(o, paths)).unwrap_or_default();
    if after == before {
        return;
    }
    let id = row.get::<pgrx::Uuid>("id").expect("id is NOT NULL");
    as_role(owner, || {
        Spi::connect_mut(|client| {
            if !before.is_empty() {
                run(
                    client,
                    "references/forget",
                    || {
                        "DELETE FROM metadata.sys_metadata_reference \
                         WHERE item_id OPERATOR(pg_catalog.=) $1"
                            .to_owned()
                    },
                    &[pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::UUIDOID)],
                    &[id.into()],
                    |_| (),
                );
            }
            if after.is_empty() {
                return;
            }
            let column = |f: fn(&Reference) -> &str| -> Vec<String> {
                after.iter().map(|r| f(r).to_owned()).collect()
            };
            let args: [DatumWithOid; 9] = [
                id.into(),
                row.text("tenant_id").into(),
                type_name.as_str().into(),
                row.text("name").into(),
                row.text("scope").into(),
                row.text("owner").into(),
                column(|r| &r.path).into(),
                column(|r| &r.target_type).into(),
                column(|r| &r.target_name).into(),
            ];
            run(
                client,
                "references/record",
                || {
                    "INSERT INTO metadata.sys_metadata_reference \
                       (item_id, tenant_id, type, name, scope, owner, path, target_type, target_name) \
                     SELECT $1, $2, $3, $4, $5, $6, r.path, r.target_type, r.target_name \
                     FROM ROWS FROM (pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)) \
                          AS r(path, target_type, target_name)"
                        .to_owned()
                },
                &[
                    pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::UUIDOID),
                    TEXT,
                    TEXT,
                    TEXT,
                    TEXT,
                    TEXT,
                    TEXT_ARRAY,
                    TEXT_ARRAY,
                    TEXT_ARRAY,
                ],
                &args,
                |_| (),
            );
        })
    });
}

/// `[{path, target_type, target_name}]` that `doc` names at `reference_paths` (as
/// `sys_metadata_type.reference_paths` holds them), sorted by path. For SQL that needs the
/// rule: the upgrade's and a type change's rebuild of the edges. Errors: 22004.
#[pg_extern(immutable, parallel_safe)]
pub(crate) fn _references(
    doc: Option<JsonB>,
    reference_paths: Option<JsonB>,
) -> TableIterator<
    'static,
    (
        name!(path, String),
        name!(target_type, String),
        name!(target_name, String),
    ),
> {
    let doc = doc.map(|d| d.0).unwrap_or(Value::Null);
    let paths = parse_paths(&reference_paths.map(|p| p.0).unwrap_or(Value::Null));
    TableIterator::new(
        references(&doc, &paths)
            .into_iter()
            .map(|r| (r.path, r.target_type, r.target_name)),
    )
}

/// Rebuilds the dependency edges of the live rows of `type_name` (of every type when
/// NULL) from their documents and the type's reference paths now, as the extension's
/// owner; returns the number of edges. Run when a type's reference paths change (the
/// trigger of `sys_metadata_type`) and by the upgrade that introduced the edges. Errors:
/// 42501 unless metadata_admin.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _rebuild_references(type_name: Option<&str>) -> i64 {
    require_admin("rebuilding dependency edges");
    as_extension_owner(|| {
        Spi::connect_mut(|client| {
            let args: [DatumWithOid; 1] = [type_name.into()];
            run(
                client,
                "references/clear",
                || {
                    "DELETE FROM metadata.sys_metadata_reference r \
                     WHERE $1::pg_catalog.text IS NULL OR r.type OPERATOR(pg_catalog.=) $1"
                        .to_owned()
                },
                &[TEXT],
                &args,
                |_| (),
            );
            let args: [DatumWithOid; 1] = [type_name.into()];
            run(
                client,
                "references/rebuild",
                || {
                    "WITH added AS (INSERT INTO metadata.sys_metadata_reference \
                       (item_id, tenant_id, type, name, scope, owner, path, target_type, target_name) \
                     SELECT m.id, m.tenant_id, m.type, m.name, m.scope, m.owner, \
                            r.path, r.target_type, r.target_name \
                     FROM metadata.sys_metadata m \
                     JOIN metadata.sys_metadata_type t ON t.name OPERATOR(pg_catalog.=) m.type \
                     CROSS JOIN LATERAL metadata._references(m.metadata, t.reference_paths) r \
                     WHERE m.state OPERATOR(pg_catalog.=) ANY (ARRAY['active', 'deprecated']::pg_catalog.text[]) \
                       AND t.reference_paths OPERATOR(pg_catalog.<>) '[]'::pg_catalog.jsonb \
                       AND ($1::pg_catalog.text IS NULL OR m.type OPERATOR(pg_catalog.=) $1) \
                     RETURNING 1) SELECT pg_catalog.count(*) FROM added"
                        .to_owned()
                },
                &[TEXT],
                &args,
                |table| table.first().get::<i64>(1).ok().flatten().unwrap_or(0),
            )
        })
    })
    .unwrap_or(0)
}
