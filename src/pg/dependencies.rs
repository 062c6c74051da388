//! Dependencies between items (DESIGN §4 "Catalog"): `dependencies` and `dependents`, the
//! check that refuses to delete an item others depend on, and the load order of `import`.
//!
//! The edges (`crate::pg::edges`) record what each live layer row's own document names,
//! which for an overlay may differ from the effective document (an overlay can change a
//! view's object). The edges are therefore a candidate index: `dependents` and the delete check
//! confirm each candidate on its effective document for the audience concerned, so an
//! item counts as a dependent exactly when its effective document names the target.
//!
//! Callers read the edges under the row level security of `sys_metadata`. The delete
//! check reads them as the
//! extension's owner, across tenants, as Postgres' own foreign key checks run as the
//! table's owner: deleting a global row must not break tenants' items that the deleting
//! administrator does not see.

use crate::core::references::{paths_naming, references, Reference};
use crate::core::resolve::{fold, Resolver};
use crate::pg::context::{current_tenant, current_user};
use crate::pg::errors::{item_of, listed, notice, raise, required};
use crate::pg::key::LayerKey;
use crate::pg::owner::as_extension_owner;
use crate::pg::source::{read_document, Audience, SpiSource};
use crate::pg::statements::{read, TEXT};
use crate::pg::types::{find_type, type_info};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The deepest `depth` that `dependencies` and `dependents` follow.
const MAX_DEPTH: i32 = 32;

/// The effective document of (`type_name`, `name`) for `audience`, `None` when the item
/// has no layer or does not resolve (a missing parent, a cycle: it names nothing then).
fn effective_value(type_name: &str, name: &str, audience: &Audience) -> Option<Value> {
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience.clone()));
    let plan = resolver.plan(name).ok()?;
    fold(&plan, read_document).ok().flatten()
}

fn exists(type_name: &str, name: &str, audience: &Audience) -> bool {
    use crate::core::resolve::LayerSource;
    SpiSource::new(type_name, audience.clone())
        .layers(name)
        .map(|l| !l.is_empty())
        .unwrap_or(true)
}

fn caller() -> Audience {
    Audience {
        tenant: current_tenant(),
        user: current_user(),
        preview: false,
    }
}

/// The references the effective document of (`type_name`, `name`) makes for `audience`.
fn effective_references(type_name: &str, name: &str, audience: &Audience) -> Vec<Reference> {
    let paths = type_info(type_name).reference_paths;
    if paths.is_empty() {
        return Vec::new();
    }
    effective_value(type_name, name, audience)
        .map(|doc| references(&doc, &paths))
        .unwrap_or_default()
}

fn bounded_depth(depth: Option<i32>) -> i32 {
    let depth = depth.unwrap_or(1);
    if !(1..=MAX_DEPTH).contains(&depth) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("depth must be between 1 and {MAX_DEPTH}, not {depth}"),
            None,
        );
    }
    depth
}

/// What (`type`, `name`) depends on for the caller: every item its effective document
/// names at its type's reference paths, then (up to `depth`, 1–32) what those name. One
/// row per reference: the named item, its depth, the item naming it and the JSON Pointer
/// where, and whether the named item exists for the caller. Each item is followed once.
/// Errors: 22004, 22023 depth out of range, 42704 unknown type.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _dependencies(
    type_name: Option<&str>,
    name: Option<&str>,
    depth: Option<i32>,
) -> TableIterator<
    'static,
    (
        name!(depth, i32),
        name!(type, String),
        name!(name, String),
        name!(referrer_type, String),
        name!(referrer_name, String),
        name!(path, String),
        name!(found, bool),
    ),
> {
    let root = item(type_name, name);
    let depth = bounded_depth(depth);
    type_info(&root.0);
    let audience = caller();
    TableIterator::new(walk(root, depth, |(t, n), d| {
        effective_references(t, n, &audience)
            .into_iter()
            .map(|r| {
                let target = (r.target_type, r.target_name);
                let found = exists(&target.0, &target.1, &audience);
                let row = (
                    d,
                    target.0.clone(),
                    target.1.clone(),
                    t.clone(),
                    n.clone(),
                    r.path,
                    found,
                );
                (row, found.then_some(target))
            })
            .collect()
    }))
}

/// (type, name) of an argument pair; raises 22004 for a NULL.
fn item(type_name: Option<&str>, name: Option<&str>) -> (String, String) {
    (
        required(type_name, "type").to_owned(),
        required(name, "name").to_owned(),
    )
}

/// Breadth first from `root` up to `depth`: `step(item, d)` gives the rows found at an
/// item of depth `d`, each with the item to follow from it (if any); each item is
/// followed once, so cycles end.
fn walk<R>(
    root: (String, String),
    depth: i32,
    mut step: impl FnMut(&(String, String), i32) -> Vec<(R, Option<(String, String)>)>,
) -> Vec<R> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::from([root.clone()]);
    let mut queue = VecDeque::from([(root, 1)]);
    while let Some((at, d)) = queue.pop_front() {
        for (row, next) in step(&at, d) {
            out.push(row);
            if let Some(next) = next {
                if d < depth && seen.insert(next.clone()) {
                    queue.push_back((next, d + 1));
                }
            }
        }
    }
    out
}

/// Items that have an edge naming (`type_name`, `name`), as `(tenant, owner of a user
/// row, type, name)`, read as the current role (the caller: row level security) or, in
/// `everywhere`, over all tenants (the extension's owner, for the delete check). `within`:
/// only rows a member of that audience can see.
fn candidates(
    type_name: &str,
    name: &str,
    within: Option<&Audience>,
) -> BTreeSet<(Option<String>, Option<String>, String, String)> {
    let (tenant, user) = within.map_or((None, None), |a| (a.tenant.clone(), a.user.clone()));
    let args: [DatumWithOid; 5] = [
        type_name.into(),
        name.into(),
        within.is_some().into(),
        tenant.as_deref().into(),
        user.as_deref().into(),
    ];
    read(
        "references/candidates",
        || {
            "SELECT DISTINCT r.tenant_id, \
                        CASE WHEN r.scope OPERATOR(pg_catalog.=) 'user' THEN r.owner END, r.type, r.name \
                 FROM metadata.sys_metadata_reference r \
                 WHERE r.target_type OPERATOR(pg_catalog.=) $1 AND r.target_name OPERATOR(pg_catalog.=) $2 \
                   AND (NOT $3 OR ((r.tenant_id IS NULL OR r.tenant_id OPERATOR(pg_catalog.=) $4) \
                                   AND (r.scope OPERATOR(pg_catalog.<>) 'user' OR r.owner OPERATOR(pg_catalog.=) $5))) \
                 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3, 4"
                    .to_owned()
        },
        &[
            TEXT,
            TEXT,
            pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::BOOLOID),
            TEXT,
            TEXT,
        ],
        &args,
        |rows| {
            rows.map(|row| {
                let text = |i: usize| row.get::<String>(i).ok().flatten();
                (
                    text(1),
                    text(2),
                    text(3).unwrap_or_default(),
                    text(4).unwrap_or_default(),
                )
            })
            .collect()
        },
    )
}

/// The items whose effective document, for the caller, names (`type_name`, `name`):
/// `(type, name, paths)`, in type and name order.
fn direct_dependents(
    type_name: &str,
    name: &str,
    audience: &Audience,
) -> Vec<(String, String, Vec<String>)> {
    let items: BTreeSet<(String, String)> = candidates(type_name, name, None)
        .into_iter()
        .map(|(_, _, t, n)| (t, n))
        .collect();
    items
        .into_iter()
        .filter_map(|(t, n)| {
            let refs = effective_references(&t, &n, audience);
            let paths: Vec<String> = paths_naming(&refs, type_name, name)
                .map(str::to_owned)
                .collect();
            (!paths.is_empty()).then_some((t, n, paths))
        })
        .collect()
}

/// What depends on (`type`, `name`) for the caller: every item whose effective document
/// names it at a reference path of its type, then (up to `depth`, 1–32) what depends on
/// those. One row per reference: the depending item, its depth, the JSON Pointer where it
/// names the item it depends on, and that item. Rows the caller cannot see (other tenants,
/// other users) are not considered. Errors: 22004, 22023 depth out of range.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _dependents(
    type_name: Option<&str>,
    name: Option<&str>,
    depth: Option<i32>,
) -> TableIterator<
    'static,
    (
        name!(depth, i32),
        name!(type, String),
        name!(name, String),
        name!(path, String),
        name!(target_type, String),
        name!(target_name, String),
    ),
> {
    let root = item(type_name, name);
    let depth = bounded_depth(depth);
    let audience = caller();
    TableIterator::new(walk(root, depth, |(t, n), d| {
        direct_dependents(t, n, &audience)
            .into_iter()
            .flat_map(|(dt, dn, paths)| {
                paths.into_iter().map(move |path| {
                    let row = (d, dt.clone(), dn.clone(), path, t.clone(), n.clone());
                    (row, Some((dt.clone(), dn.clone())))
                })
            })
            .collect()
    }))
}

/// Whose view: (tenant, user).
type Whose = (Option<String>, Option<String>);

/// One item left naming a deleted one: for whom, which item, where.
struct Broken {
    audience: Audience,
    type_name: String,
    name: String,
    paths: Vec<String>,
}

impl Broken {
    fn describe(&self) -> String {
        let who = item_of(
            &self.type_name,
            &self.name,
            self.audience.tenant.as_deref(),
            self.audience.user.as_deref(),
        );
        format!("{who} names it at {}", self.paths.join(", "))
    }
}

/// The items that the deletion of the layer `key` (already archived in this transaction)
/// leaves naming an item that no longer exists for them. Every audience that could see
/// the deleted layer is considered, whoever the caller is (as the extension's owner).
fn broken_by_delete(key: &LayerKey) -> Vec<Broken> {
    as_extension_owner(|| {
        let within = key.tenant.as_ref().map(|t| Audience {
            tenant: Some(t.clone()),
            user: key.owner.clone(),
            preview: false,
        });
        let within = match (&within, &key.owner) {
            (None, Some(user)) => Some(Audience {
                tenant: None,
                user: Some(user.clone()),
                preview: false,
            }),
            _ => within,
        };
        // By audience, the candidates to confirm there.
        let mut by_audience: BTreeMap<Whose, Vec<(String, String)>> = BTreeMap::new();
        for (tenant, user, t, n) in candidates(&key.type_name, &key.name, within.as_ref()) {
            let tenant = tenant.or_else(|| key.tenant.clone());
            let user = user.or_else(|| key.owner.clone());
            by_audience.entry((tenant, user)).or_default().push((t, n));
        }
        let mut broken = Vec::new();
        for ((tenant, user), items) in by_audience {
            let audience = Audience {
                tenant,
                user,
                preview: false,
            };
            if exists(&key.type_name, &key.name, &audience) {
                continue;
            }
            for (t, n) in items {
                let refs = effective_references(&t, &n, &audience);
                let paths: Vec<String> = paths_naming(&refs, &key.type_name, &key.name)
                    .map(str::to_owned)
                    .collect();
                if !paths.is_empty() {
                    broken.push(Broken {
                        audience: audience.clone(),
                        type_name: t,
                        name: n,
                        paths,
                    });
                }
            }
        }
        broken
    })
    .unwrap_or_default()
}

/// After the layer `key` was archived or deleted: raises 23503 foreign_key_violation when items
/// depend on it (their effective documents name it and it no longer exists for them), the
/// dependents in DETAIL; with `cascade` the delete stands and a NOTICE lists them.
pub fn check_delete(key: &LayerKey, cascade: bool) {
    let broken = broken_by_delete(key);
    if broken.is_empty() {
        return;
    }
    let detail = listed(broken.iter().map(Broken::describe), broken.len());
    let what = format!("{} \"{}\"", key.type_name, key.name);
    let count = broken.len();
    if cascade {
        notice(
            format!("deleting {what} leaves {count} dependent item(s) naming it"),
            detail,
        );
        return;
    }
    crate::pg::errors::raise_with(
        PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
        format!("cannot delete {what}: {count} item(s) depend on it"),
        Some(detail),
        Some("Change or delete the dependents first, or pass cascade => true to delete it anyway (the dependents are reported)."
            .to_owned()),
    );
}

/// The order in which `import` writes the items of a bundle (`[{type, name, metadata,
/// extends, ...}]`): indexes (0-based) sorted so that an item comes after the items of the
/// bundle it names at its type's reference paths and after its `extends` parent (by depth
/// in that graph, `crate::core::references::depths`), bundle order among equals. Items
/// that are not well-formed (no type or name, an unknown type) keep depth 0: the import
/// reports them.
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _import_order(items: Option<JsonB>) -> Vec<i32> {
    let items = match items.map(|j| j.0) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    import_order(&items)
        .into_iter()
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect()
}

/// The order of [`_import_order`] over `items`, as 0-based indexes (also the order in
/// which `upgrade_package` writes a package's items).
pub fn import_order(items: &[Value]) -> Vec<usize> {
    let mut paths: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let node = |item: &Value| -> Option<(String, String)> {
        Some((
            item["type"].as_str()?.to_owned(),
            item["name"].as_str()?.to_owned(),
        ))
    };
    let mut edges: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for item in items {
        let Some((t, n)) = node(item) else { continue };
        let refs = paths
            .entry(t.clone())
            .or_insert_with(|| find_type(&t).map(|i| i.reference_paths).unwrap_or_default());
        let mut names: Vec<(String, String)> = references(&item["metadata"], refs)
            .into_iter()
            .map(|r| (r.target_type, r.target_name))
            .collect();
        if let Some(parent) = item["extends"].as_str() {
            names.push((t.clone(), parent.to_owned()));
        }
        edges.entry((t, n)).or_default().extend(names);
    }
    let depth = crate::core::references::depths(&edges);
    let mut order: Vec<(usize, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            (
                node(item).and_then(|k| depth.get(&k).copied()).unwrap_or(0),
                i,
            )
        })
        .collect();
    order.sort();
    order.into_iter().map(|(_, i)| i).collect()
}
