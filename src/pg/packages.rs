//! Package upgrades (DESIGN §4 "Packages"): `upgrade_package` replaces a package's `system`
//! rows with a new version's documents and rebases every overlay over them, of every tenant
//! and user, by the three-way merge of `crate::core::merge3`. The SQL wrapper
//! (sql/packages.sql) keeps the registry and undoes a dry run; the decisions are
//! `crate::core::package`'s; this module reads, writes and reports.
//!
//! 1. The package's live system rows and every live overlay over its items are read and
//!    locked (`FOR UPDATE`), as the extension's owner: an upgrade is the platform's, across
//!    tenants, and is open to metadata_admin only.
//! 2. `crate::core::package::plan_upgrade` decides what each item and overlay becomes.
//! 3. Any unresolved conflict: nothing is written and the report says where. Otherwise the
//!    items that change are written (dependencies first), then each overlay over a changed
//!    base, lowest layer first, through the one write path (`crate::pg::write::save_layer`:
//!    locked paths, the schema of each resulting effective document, `base_checksum`), and
//!    items the new version no longer ships become `deprecated`. History and feed record
//!    each change with op `upgrade` (a new item: `create`).

use crate::core::layers::{rank_of, OnConflict, Scope, State, Strategy as LayerStrategy};
use crate::core::merge3::{Finding, Overlay, Strategy};
use crate::core::package::{
    parse_bundle, parse_rules, plan_upgrade, Base, BundleError, Incoming, ItemStatus,
    StoredOverlay, UpgradePlan,
};
use crate::core::write::{Expectation, Given};
use crate::pg::dependencies::import_order;
use crate::pg::errors::{raise, raise_document, raise_with, required};
use crate::pg::intent::Op;
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::{truncate, LayerKey};
use crate::pg::owner::{as_extension_owner, require_admin};
use crate::pg::statements::{run, TEXT, TEXT_ARRAY};
use crate::pg::types::{type_info, TypeInfo};
use crate::pg::write::{save_layer, Row, Save};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Raises the ERROR of a refused bundle or resolution: 22023, 42602, 54000/54001.
fn raise_bundle(err: BundleError) -> ! {
    match err {
        BundleError::Invalid(m) => raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, m, None),
        BundleError::Name(m) => raise(PgSqlErrorCode::ERRCODE_INVALID_NAME, m, None),
        BundleError::Document(e) => raise_document(e),
    }
}

/// The live system rows of the package or of the bundle's items, locked.
fn read_bases(
    client: &mut SpiClient<'_>,
    package_id: &str,
    keys: &(Vec<String>, Vec<String>),
) -> BTreeMap<(String, String), Base> {
    run(
        client,
        "packages/bases",
        || {
            "SELECT m.type, m.name::pg_catalog.text, m.metadata, m.checksum, m.state, m.package_id, \
                    m.strategy, m.extends::pg_catalog.text, m.namespace::pg_catalog.text, m.tags \
             FROM metadata.sys_metadata m \
             WHERE m.tenant_id IS NULL AND m.scope OPERATOR(pg_catalog.=) 'system' \
               AND m.state OPERATOR(pg_catalog.=) ANY (ARRAY['active', 'deprecated']) \
               AND (m.package_id OPERATOR(pg_catalog.=) $1 \
                    OR (m.type, m.name::pg_catalog.text) IN (SELECT * FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)))) \
             ORDER BY m.type, m.name FOR UPDATE"
                .to_owned()
        },
        &[TEXT, TEXT_ARRAY, TEXT_ARRAY],
        &[
            package_id.into(),
            keys.0.clone().into(),
            keys.1.clone().into(),
        ],
        |table| {
            let mut out = BTreeMap::new();
            for row in table {
                let text = |i: usize| row.get::<String>(i).ok().flatten();
                let key = (text(1).unwrap_or_default(), text(2).unwrap_or_default());
                out.insert(
                    key,
                    Base {
                        doc: row
                            .get::<JsonB>(3)
                            .ok()
                            .flatten()
                            .map_or(Value::Null, |j| j.0),
                        checksum: text(4).unwrap_or_default(),
                        state: State::parse(&text(5).unwrap_or_default()).unwrap_or(State::Active),
                        package_id: text(6),
                        strategy: LayerStrategy::parse(&text(7).unwrap_or_default())
                            .unwrap_or(LayerStrategy::Merge),
                        extends: text(8),
                        namespace: text(9).unwrap_or_else(|| "default".to_owned()),
                        tags: row
                            .get::<Vec<String>>(10)
                            .ok()
                            .flatten()
                            .unwrap_or_default(),
                    },
                );
            }
            out
        },
    )
}

/// Every live overlay (platform or user row, of any tenant) over the items, locked.
fn read_overlays(
    client: &mut SpiClient<'_>,
    keys: &(Vec<String>, Vec<String>),
) -> Vec<StoredOverlay> {
    run(
        client,
        "packages/overlays",
        || {
            "SELECT m.type, m.name::pg_catalog.text, m.id::pg_catalog.text, m.tenant_id, m.scope, \
                    m.owner, m.strategy, m.metadata, m.state \
             FROM metadata.sys_metadata m \
             WHERE m.scope OPERATOR(pg_catalog.<>) 'system' \
               AND m.state OPERATOR(pg_catalog.=) ANY (ARRAY['active', 'deprecated']) \
               AND (m.type, m.name::pg_catalog.text) IN (SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))) \
             ORDER BY m.type, m.name, m.id FOR UPDATE"
                .to_owned()
        },
        &[TEXT_ARRAY, TEXT_ARRAY],
        &[keys.0.clone().into(), keys.1.clone().into()],
        |table| {
            let mut out = Vec::new();
            for row in table {
                let text = |i: usize| row.get::<String>(i).ok().flatten();
                let scope = Scope::parse(&text(5).unwrap_or_default()).unwrap_or(Scope::Platform);
                let tenant = text(4);
                out.push(StoredOverlay {
                    type_name: text(1).unwrap_or_default(),
                    name: text(2).unwrap_or_default(),
                    overlay: Overlay {
                        id: text(3).unwrap_or_default(),
                        rank: rank_of(scope, tenant.is_some()),
                        tenant,
                        owner: text(6),
                        strategy: LayerStrategy::parse(&text(7).unwrap_or_default())
                            .unwrap_or(LayerStrategy::Merge),
                        doc: row
                            .get::<JsonB>(8)
                            .ok()
                            .flatten()
                            .map_or(Value::Null, |j| j.0),
                    },
                    scope,
                    state: State::parse(&text(9).unwrap_or_default()).unwrap_or(State::Active),
                });
            }
            out
        },
    )
}

fn opt(value: &Option<Value>) -> Value {
    value.clone().unwrap_or(Value::Null)
}

/// Whose overlay a report entry is about: its tenant, item, scope and owner, then `rest`.
fn about(s: &StoredOverlay, rest: Value) -> Value {
    let mut e = json!({
        "tenant_id": s.overlay.tenant, "type": s.type_name, "name": s.name,
        "scope": s.scope.as_str(), "owner": s.overlay.owner,
    });
    if let (Value::Object(e), Value::Object(rest)) = (&mut e, rest) {
        e.extend(rest);
    }
    e
}

/// A finding of the report: whose overlay, where, the three values, what was done.
fn finding_json(s: &StoredOverlay, f: &Finding) -> Value {
    about(
        s,
        json!({
            "path": f.path, "old_base": opt(&f.old_base), "new_base": opt(&f.new_base),
            "custom": opt(&f.custom), "kind": f.kind.as_str(), "outcome": f.outcome.as_str(),
        }),
    )
}

fn version_of(row: &Row) -> i32 {
    row.get_by_name::<i32>("version")
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// `upgrade_package(...)` (sql/packages.sql) without the registry and the dry run: plans
/// the upgrade of `package_id` (installed at `from_version`) to the package bundle `bundle`
/// and of every overlay over its items by `strategy` (`keep-custom`, `accept-incoming`,
/// `three-way-merge`) and `resolutions`, and writes it unless a conflict remains. Returns
/// the report `{package, from_version, to_version, strategy, written, counts, items,
/// overlays, findings}`. Errors: 42501 unless metadata_admin, 22004, 22023 (bad bundle,
/// strategy or resolutions, with the JSON Pointer), 42602, 42704 unknown type, 42710 an
/// item of another package, and those of save (23514 a resulting effective document fails
/// its strict schema or changes a locked path, ...).
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _upgrade_package(
    package_id: Option<&str>,
    from_version: Option<&str>,
    bundle: Option<JsonB>,
    strategy: Option<&str>,
    resolutions: Option<JsonB>,
) -> JsonB {
    require_admin("upgrade_package");
    let package_id = required(package_id, "package_id").to_owned();
    let strategy_text = required(strategy, "strategy");
    let strategy = Strategy::parse(strategy_text).unwrap_or_else(|| {
        raise_with(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown strategy \"{}\"", truncate(strategy_text)),
            None,
            Some("Use one of: keep-custom, accept-incoming, three-way-merge.".to_owned()),
        )
    });
    let bundle = bundle.map(|b| b.0).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "bundle must not be NULL".to_owned(),
            None,
        )
    });
    let (to_version, incoming) =
        parse_bundle(&package_id, &bundle).unwrap_or_else(|e| raise_bundle(e));
    let rules = parse_rules(resolutions.as_ref().map(|r| &r.0)).unwrap_or_else(|e| raise_bundle(e));
    let infos: BTreeMap<String, TypeInfo> = incoming
        .iter()
        .map(|i| (i.type_name.clone(), type_info(&i.type_name)))
        .collect();
    let upgrade = Upgrade {
        package_id: &package_id,
        from_version,
        to_version: &to_version,
        incoming: &incoming,
        infos: &infos,
    };
    as_extension_owner(|| {
        Spi::connect_mut(|client| {
            let keys: (Vec<String>, Vec<String>) = incoming
                .iter()
                .map(|i| (i.type_name.clone(), i.name.clone()))
                .unzip();
            let bases = read_bases(client, &package_id, &keys);
            let (mut types, mut names) = keys;
            for ((t, n), b) in &bases {
                if b.package_id.as_deref() == Some(package_id.as_str()) {
                    types.push(t.clone());
                    names.push(n.clone());
                }
            }
            let overlays = read_overlays(client, &(types, names));
            let plan = plan_upgrade(&package_id, &incoming, &bases, &overlays, strategy, &rules)
                .unwrap_or_else(|f| {
                    let item = &incoming[f.index];
                    raise_with(
                        PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
                        format!(
                            "{} \"{}\" (at /items/{}) belongs to package \"{}\"",
                            item.type_name, item.name, f.index, f.package_id
                        ),
                        None,
                        Some(
                            "A system row belongs to one package; uninstall the other first."
                                .to_owned(),
                        ),
                    )
                });
            let written = plan.conflicts() == 0;
            let done = if written {
                upgrade.write(client, &plan, &bases, &overlays)
            } else {
                Written::default()
            };
            JsonB(upgrade.report(strategy_text, written, &plan, &overlays, &done))
        })
    })
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the extension is not installed".to_owned(),
            None,
        )
    })
}

/// One upgrade: the package, the versions, the new items and their types' registrations.
struct Upgrade<'a> {
    package_id: &'a str,
    from_version: Option<&'a str>,
    to_version: &'a str,
    incoming: &'a [Incoming],
    infos: &'a BTreeMap<String, TypeInfo>,
}

/// The versions an upgrade wrote: per incoming item, per rebased overlay (by the index of
/// its rebase), per dropped item.
#[derive(Default)]
struct Written {
    items: BTreeMap<usize, i32>,
    rebases: BTreeMap<usize, i32>,
    deprecated: BTreeMap<usize, i32>,
}

impl Upgrade<'_> {
    fn note(&self) -> String {
        format!(
            "upgrade_package {} {} -> {}",
            self.package_id,
            self.from_version.unwrap_or("?"),
            self.to_version
        )
    }

    /// Writes the plan: the items that change (dependencies first), the rebased overlays
    /// (lowest layer first, as planned), then the deprecations.
    fn write(
        &self,
        client: &mut SpiClient<'_>,
        plan: &UpgradePlan,
        bases: &BTreeMap<(String, String), Base>,
        overlays: &[StoredOverlay],
    ) -> Written {
        let note = self.note();
        let mut done = Written::default();
        let docs: Vec<Value> = self
            .incoming
            .iter()
            .map(|i| json!({"type": i.type_name, "name": i.name, "metadata": i.doc, "extends": i.extends}))
            .collect();
        for i in import_order(&docs) {
            let item = &self.incoming[i];
            let op = match plan.statuses[i] {
                ItemStatus::Unchanged => continue,
                ItemStatus::Created => None,
                ItemStatus::Updated => Some(Op::Upgrade),
            };
            let save = Save {
                key: system_key(&item.type_name, &item.name),
                doc: JsonbBytes::from_value(&item.doc),
                parsed: item.doc.clone(),
                request_state: State::Active,
                given: Given {
                    strategy: Some(item.strategy),
                    extends: Some(item.extends.clone()),
                    namespace: Some(item.namespace.clone()),
                    tags: Some(item.tags.clone()),
                    source: None,
                    managed_by: Some("package".to_owned()),
                    package_id: Some(self.package_id.to_owned()),
                    package_version: Some(self.to_version.to_owned()),
                },
                on_conflict: OnConflict::Update,
                expected: Expectation::default(),
                note: Some(&note),
                op,
            };
            let row = save_layer(client, &self.infos[&item.type_name], save);
            done.items.insert(i, version_of(&row));
        }
        for (r, (o, strategy, doc)) in plan.rebases.iter().enumerate() {
            let s = &overlays[*o];
            let save = Save {
                key: LayerKey {
                    tenant: s.overlay.tenant.clone(),
                    type_name: s.type_name.clone(),
                    name: s.name.clone(),
                    scope: s.scope,
                    owner: s.overlay.owner.clone(),
                },
                doc: JsonbBytes::from_value(doc),
                parsed: doc.clone(),
                request_state: s.state,
                given: Given {
                    strategy: Some(*strategy),
                    ..Given::default()
                },
                on_conflict: OnConflict::Update,
                expected: Expectation::default(),
                note: Some(&note),
                op: Some(Op::Upgrade),
            };
            let row = save_layer(client, &self.infos[&s.type_name], save);
            done.rebases.insert(r, version_of(&row));
        }
        for (d, (t, n)) in plan.dropped.iter().enumerate() {
            let base = &bases[&(t.clone(), n.clone())];
            if base.state == State::Deprecated {
                continue;
            }
            let save = Save {
                key: system_key(t, n),
                doc: JsonbBytes::from_value(&base.doc),
                parsed: base.doc.clone(),
                request_state: State::Deprecated,
                given: Given::default(),
                on_conflict: OnConflict::Update,
                expected: Expectation {
                    version: None,
                    checksum: Some(Some(base.checksum.clone())),
                },
                note: Some(&note),
                op: Some(Op::Upgrade),
            };
            let row = save_layer(client, &type_info(t), save);
            done.deprecated.insert(d, version_of(&row));
        }
        done
    }

    /// The report (see [`_upgrade_package`]); versions where they were written.
    fn report(
        &self,
        strategy: &str,
        written: bool,
        plan: &UpgradePlan,
        overlays: &[StoredOverlay],
        done: &Written,
    ) -> Value {
        let with_version = |mut e: Value, v: Option<&i32>| {
            if let Some(v) = v {
                e["version"] = json!(v);
            }
            e
        };
        let mut items: Vec<Value> = self
            .incoming
            .iter()
            .zip(&plan.statuses)
            .enumerate()
            .map(|(i, (item, status))| {
                with_version(
                    json!({"type": item.type_name, "name": item.name, "status": status.as_str()}),
                    done.items.get(&i),
                )
            })
            .collect();
        items.extend(plan.dropped.iter().enumerate().map(|(d, (t, n))| {
            with_version(
                json!({"type": t, "name": n, "status": "deprecated"}),
                done.deprecated.get(&d),
            )
        }));
        items.sort_by(|a, b| {
            (a["type"].as_str(), a["name"].as_str()).cmp(&(b["type"].as_str(), b["name"].as_str()))
        });
        let mut listed: Vec<Value> = plan
            .rebases
            .iter()
            .enumerate()
            .map(|(r, (o, strategy, _))| {
                let s = &overlays[*o];
                with_version(
                    about(
                        s,
                        json!({"status": "rebased", "strategy": strategy.as_str()}),
                    ),
                    done.rebases.get(&r),
                )
            })
            .collect();
        listed.extend(
            plan.orphaned
                .iter()
                .map(|&o| about(&overlays[o], json!({"status": "orphaned"}))),
        );
        listed.sort_by_key(|e| {
            ["type", "name", "tenant_id", "scope", "owner"]
                .map(|k| e[k].as_str().map(str::to_owned))
        });
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in items.iter().chain(&listed) {
            *counts
                .entry(e["status"].as_str().unwrap_or(""))
                .or_default() += 1;
        }
        for (_, f) in &plan.findings {
            *counts.entry(f.outcome.as_str()).or_default() += 1;
        }
        json!({
            "package": self.package_id,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "strategy": strategy,
            "written": written,
            "counts": counts,
            "items": items,
            "overlays": listed,
            "findings": plan.findings.iter().map(|(o, f)| finding_json(&overlays[*o], f)).collect::<Vec<_>>(),
        })
    }
}

/// The key of the global system row of (`type_name`, `name`).
fn system_key(type_name: &str, name: &str) -> LayerKey {
    LayerKey {
        tenant: None,
        type_name: type_name.to_owned(),
        name: name.to_owned(),
        scope: Scope::System,
        owner: None,
    }
}

/// `uninstall_package(..., keep_customisations => false)`: archives every live overlay
/// (platform or user row, of any tenant) over the live system rows of `package_id`, as
/// the extension's owner (history op `delete`), and returns how many. Errors: 42501 unless
/// metadata_admin, 22004.
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _archive_overlays(package_id: Option<&str>) -> i64 {
    require_admin("uninstall_package");
    let package_id = crate::pg::errors::required(package_id, "package_id");
    as_extension_owner(|| {
        Spi::connect_mut(|client| {
            run(
                client,
                "packages/archive_overlays",
                || {
                    "UPDATE metadata.sys_metadata AS m SET state = 'archived' \
                     FROM metadata.sys_metadata b \
                     WHERE b.tenant_id IS NULL AND b.scope OPERATOR(pg_catalog.=) 'system' \
                       AND b.package_id OPERATOR(pg_catalog.=) $1 \
                       AND b.state OPERATOR(pg_catalog.=) ANY (ARRAY['active', 'deprecated']) \
                       AND m.type OPERATOR(pg_catalog.=) b.type AND m.name OPERATOR(pg_catalog.=) b.name \
                       AND m.scope OPERATOR(pg_catalog.<>) 'system' \
                       AND m.state OPERATOR(pg_catalog.=) ANY (ARRAY['active', 'deprecated'])"
                        .to_owned()
                },
                &[TEXT],
                &[package_id.into()],
                |table| table.len() as i64,
            )
        })
    })
    .unwrap_or(0)
}
