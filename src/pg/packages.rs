//! Package upgrades (DESIGN §4 "Packages"): `upgrade_package` replaces a package's `system`
//! rows with a new version's documents and rebases every overlay over them, of every tenant
//! and user, by the three-way merge of `crate::core::merge3`. The SQL wrapper
//! (sql/packages.sql) keeps the registry and undoes a dry run; this module plans and writes.
//!
//! 1. The package's live system rows and every live overlay over its items are read and
//!    locked (`FOR UPDATE`), as the extension's owner: an upgrade is the platform's, across
//!    tenants, and is open to metadata_admin only.
//! 2. Per item, the old base O (the stored system row) and the new base N (the bundle's
//!    document) are merged with each overlay's customisation ([`plan_overlays`]).
//! 3. Any unresolved conflict: nothing is written and the report says where. Otherwise the
//!    new bases are written (dependencies first; an item whose document and attributes
//!    are unchanged is not written, and its `package_version` stays the version that last
//!    changed it), then each overlay over a changed base,
//!    lowest layer first, through the one write path (`crate::pg::write::save_layer`:
//!    locked paths, the schema of each resulting effective document, `base_checksum`), and
//!    items the new version no longer ships become `deprecated`. History and feed record
//!    each change with op `upgrade` (a new item: `create`).

use crate::core::document::{json_type_name, parse_document};
use crate::core::layers::{rank_of, OnConflict, Scope, State, Strategy as LayerStrategy};
use crate::core::merge3::{plan_overlays, Finding, Outcome, Overlay, Resolution, Strategy};
use crate::core::names::is_machine_name;
use crate::core::pointer::tokens;
use crate::core::write::{Expectation, Given};
use crate::pg::dependencies::import_order;
use crate::pg::errors::{raise, raise_document, raise_with};
use crate::pg::intent::Op;
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::{truncate, LayerKey};
use crate::pg::owner::{as_role, extension_owner, require_admin};
use crate::pg::statements::{run, TEXT, TEXT_ARRAY};
use crate::pg::types::type_info;
use crate::pg::write::{save_layer, Row, Save};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The members a package bundle's item may have (those of `export`; `checksum` is ignored,
/// the package's `package_id` and `package_version` are set by the upgrade).
const ITEM_KEYS: &[&str] = &[
    "type",
    "name",
    "metadata",
    "scope",
    "strategy",
    "extends",
    "namespace",
    "tags",
    "checksum",
    "package_id",
    "package_version",
];

fn invalid(message: String) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message,
        None,
    )
}

/// One item of the new version.
struct Incoming {
    type_name: String,
    name: String,
    doc: Value,
    strategy: LayerStrategy,
    extends: Option<String>,
    namespace: String,
    tags: Vec<String>,
}

/// The live system row of an item.
struct Base {
    doc: Value,
    checksum: String,
    state: State,
    package_id: Option<String>,
    strategy: LayerStrategy,
    extends: Option<String>,
    namespace: String,
    tags: Vec<String>,
}

/// A live overlay (platform or user row) over an item.
struct Stored {
    type_name: String,
    name: String,
    overlay: Overlay,
    scope: Scope,
    state: State,
}

/// A caller's resolution of a path: the item and path it names, optionally the overlay's
/// tenant (`Some(None)`: global), scope and owner; absent parts match every overlay.
struct Rule {
    type_name: String,
    name: String,
    path: String,
    tenant: Option<Option<String>>,
    scope: Option<String>,
    owner: Option<Option<String>>,
    resolution: Resolution,
}

impl Rule {
    fn matches(&self, s: &Stored, path: &str) -> bool {
        self.path == path
            && self.type_name == s.type_name
            && self.name == s.name
            && self.tenant.as_ref().is_none_or(|t| *t == s.overlay.tenant)
            && self
                .scope
                .as_deref()
                .is_none_or(|sc| sc == s.scope.as_str())
            && self.owner.as_ref().is_none_or(|o| *o == s.overlay.owner)
    }
}

/// The string member `key` of `object` (absent or null: `None`); 22023 naming `at` when it
/// is something else.
fn string<'a>(object: &'a Map<String, Value>, key: &str, at: &str) -> Option<&'a str> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => invalid(format!(
            "{at}/{key} must be a string, not {}",
            json_type_name(other)
        )),
    }
}

/// The package's new version from a package bundle: `{"package": {"id", "version"},
/// "items": [...]}`; the id must be `package_id`. Errors: 22023 with the JSON Pointer of
/// the bad member, 42602 bad names.
fn parse_bundle(package_id: &str, bundle: &Value) -> (String, Vec<Incoming>) {
    let Value::Object(bundle) = bundle else {
        invalid("bundle must be a JSON object".to_owned())
    };
    let Some(Value::Object(package)) = bundle.get("package") else {
        invalid(
            "a package bundle needs \"package\": {\"id\", \"version\"} (at /package)".to_owned(),
        )
    };
    let id = string(package, "id", "/package").unwrap_or("");
    if id != package_id {
        invalid(format!(
            "the bundle is package \"{}\", not \"{}\" (at /package/id)",
            truncate(id),
            truncate(package_id)
        ));
    }
    let version = string(package, "version", "/package")
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .unwrap_or_else(|| {
            invalid("/package/version must be a string of 1 to 64 characters".to_owned())
        })
        .to_owned();
    let Some(Value::Array(items)) = bundle.get("items") else {
        invalid("bundle must have an array \"items\" (at /items)".to_owned())
    };
    let mut seen = BTreeSet::new();
    let incoming = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("/items/{i}");
            let Value::Object(item) = item else {
                invalid(format!("{at} must be a JSON object"))
            };
            if let Some(k) = item.keys().find(|k| !ITEM_KEYS.contains(&k.as_str())) {
                invalid(format!(
                    "unknown member \"{}\" at {at} (a package item is global and of scope system)",
                    truncate(k)
                ));
            }
            if string(item, "scope", &at).is_some_and(|s| s != "system") {
                invalid(format!("{at}/scope: a package's items are of scope system"));
            }
            let name_at = |key: &str| -> Option<String> {
                string(item, key, &at).map(|n| {
                    if !is_machine_name(n) {
                        raise(
                            PgSqlErrorCode::ERRCODE_INVALID_NAME,
                            format!("invalid {key} \"{}\" at {at}/{key}", truncate(n)),
                            None,
                        )
                    }
                    n.to_owned()
                })
            };
            let type_name = string(item, "type", &at)
                .unwrap_or_else(|| invalid(format!("{at}/type is missing")))
                .to_owned();
            let name = name_at("name").unwrap_or_else(|| invalid(format!("{at}/name is missing")));
            if !seen.insert((type_name.clone(), name.clone())) {
                invalid(format!(
                    "{at}: {type_name} \"{name}\" is in the bundle twice"
                ));
            }
            let doc = item
                .get("metadata")
                .filter(|d| d.is_object())
                .unwrap_or_else(|| invalid(format!("{at}/metadata must be a JSON object")));
            let text = serde_json::to_string(doc).expect("serialising JSON");
            let doc = parse_document(&text).unwrap_or_else(|e| raise_document(e));
            let strategy = match string(item, "strategy", &at) {
                None => LayerStrategy::Merge,
                Some(s) => LayerStrategy::parse(s).unwrap_or_else(|| {
                    invalid(format!("{at}/strategy: unknown \"{}\"", truncate(s)))
                }),
            };
            let tags = match item.get("tags") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(t)) if t.iter().all(Value::is_string) => t
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect(),
                Some(_) => invalid(format!("{at}/tags must be an array of strings")),
            };
            Incoming {
                type_name,
                name,
                doc,
                strategy,
                extends: name_at("extends"),
                namespace: name_at("namespace").unwrap_or_else(|| "default".to_owned()),
                tags,
            }
        })
        .collect();
    (version, incoming)
}

/// The caller's resolutions: `[{type, name, path, tenant_id?, scope?, owner?, resolution:
/// "custom" | "incoming" | "value", value?}]` (`value` absent with "value": the member is
/// removed). Errors: 22023 at `/resolutions/i`.
fn parse_rules(resolutions: Option<&Value>) -> Vec<Rule> {
    let items = match resolutions {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => invalid("resolutions must be a JSON array".to_owned()),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = format!("/resolutions/{i}");
            let Value::Object(r) = r else {
                invalid(format!("{at} must be a JSON object"))
            };
            let need = |key: &str| {
                string(r, key, &at)
                    .unwrap_or_else(|| invalid(format!("{at}/{key} is missing")))
                    .to_owned()
            };
            let path = need("path");
            if tokens(&path).is_none() {
                invalid(format!("{at}/path is not a JSON Pointer (RFC 6901)"));
            }
            let optional = |key: &str| -> Option<Option<String>> {
                r.contains_key(key)
                    .then(|| string(r, key, &at).map(str::to_owned))
            };
            let resolution = match need("resolution").as_str() {
                "custom" => Resolution::Custom,
                "incoming" => Resolution::Incoming,
                "value" => Resolution::Value(r.get("value").cloned()),
                other => invalid(format!(
                    "{at}/resolution: unknown \"{}\" (use custom, incoming or value)",
                    truncate(other)
                )),
            };
            Rule {
                type_name: need("type"),
                name: need("name"),
                path,
                tenant: optional("tenant_id"),
                scope: optional("scope").flatten(),
                owner: optional("owner"),
                resolution,
            }
        })
        .collect()
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
fn read_overlays(client: &mut SpiClient<'_>, keys: &(Vec<String>, Vec<String>)) -> Vec<Stored> {
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
                out.push(Stored {
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

/// A finding of the report: whose overlay, where, the three values, what was done.
fn finding_json(s: &Stored, f: &Finding) -> Value {
    json!({
        "tenant_id": s.overlay.tenant, "type": s.type_name, "name": s.name,
        "scope": s.scope.as_str(), "owner": s.overlay.owner, "path": f.path,
        "old_base": opt(&f.old_base), "new_base": opt(&f.new_base), "custom": opt(&f.custom),
        "kind": f.kind.as_str(), "outcome": f.outcome.as_str(),
    })
}

fn version_of(row: &Row) -> i32 {
    row.get_by_name::<i32>("version")
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// `upgrade_package(...)` (sql/packages.sql) without the registry and the dry run: plans
/// the upgrade of `package_id`'s system rows to the package bundle `bundle` and of every
/// overlay over them by `strategy` (`keep-custom`, `accept-incoming`, `three-way-merge`)
/// and `resolutions`, and writes it unless a conflict remains. Returns the report
/// `{package, from_version, to_version, strategy, written, counts, items, overlays,
/// findings}`. Errors: 42501 unless metadata_admin, 22004, 22023 (bad bundle, strategy or
/// resolutions, with the JSON Pointer), 42602, 42704 unknown type, 42710 an item of
/// another package, and those of save (23514 a resulting effective document fails its
/// strict schema or changes a locked path, ...).
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _upgrade_package(
    package_id: Option<&str>,
    from_version: Option<&str>,
    bundle: Option<JsonB>,
    strategy: Option<&str>,
    resolutions: Option<JsonB>,
) -> JsonB {
    require_admin("upgrade_package");
    let package_id = crate::pg::errors::required(package_id, "package_id").to_owned();
    let strategy_text = crate::pg::errors::required(strategy, "strategy");
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
    let (to_version, incoming) = parse_bundle(&package_id, &bundle);
    let rules = parse_rules(resolutions.as_ref().map(|r| &r.0));
    let infos: BTreeMap<String, crate::pg::types::TypeInfo> = incoming
        .iter()
        .map(|i| (i.type_name.clone(), type_info(&i.type_name)))
        .collect();
    let Some(owner) = extension_owner() else {
        invalid("the extension is not installed".to_owned())
    };
    as_role(owner, || {
        Spi::connect_mut(|client| {
            upgrade(
                client,
                &package_id,
                from_version,
                &to_version,
                strategy,
                strategy_text,
                &incoming,
                &rules,
                &infos,
            )
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn upgrade(
    client: &mut SpiClient<'_>,
    package_id: &str,
    from_version: Option<&str>,
    to_version: &str,
    strategy: Strategy,
    strategy_text: &str,
    incoming: &[Incoming],
    rules: &[Rule],
    infos: &BTreeMap<String, crate::pg::types::TypeInfo>,
) -> JsonB {
    let keys: (Vec<String>, Vec<String>) = incoming
        .iter()
        .map(|i| (i.type_name.clone(), i.name.clone()))
        .unzip();
    let bases = read_bases(client, package_id, &keys);
    for (i, item) in incoming.iter().enumerate() {
        let key = (item.type_name.clone(), item.name.clone());
        if let Some(other) = bases.get(&key).and_then(|b| b.package_id.as_deref()) {
            if other != package_id {
                raise_with(
                    PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
                    format!(
                        "{} \"{}\" (at /items/{i}) belongs to package \"{other}\"",
                        item.type_name, item.name
                    ),
                    None,
                    Some(
                        "A system row belongs to one package; uninstall the other first."
                            .to_owned(),
                    ),
                );
            }
        }
    }
    // The items the new version drops: still live, of this package, not in the bundle.
    let named: BTreeSet<(String, String)> =
        keys.0.iter().cloned().zip(keys.1.iter().cloned()).collect();
    let dropped: Vec<(String, String)> = bases
        .iter()
        .filter(|(k, b)| !named.contains(*k) && b.package_id.as_deref() == Some(package_id))
        .map(|(k, _)| k.clone())
        .collect();
    let (mut all_types, mut all_names) = keys.clone();
    for (t, n) in &dropped {
        all_types.push(t.clone());
        all_names.push(n.clone());
    }
    let overlays = read_overlays(client, &(all_types, all_names));
    let mut by_item: BTreeMap<(String, String), Vec<&Stored>> = BTreeMap::new();
    for s in &overlays {
        by_item
            .entry((s.type_name.clone(), s.name.clone()))
            .or_default()
            .push(s);
    }

    // Plan.
    let empty = Value::Object(Map::new());
    let mut statuses: Vec<&str> = Vec::with_capacity(incoming.len());
    let mut rebases: Vec<(&Stored, LayerStrategy, Value)> = Vec::new();
    let mut findings: Vec<(&Stored, Finding)> = Vec::new();
    let mut overlay_report: Vec<Value> = Vec::new();
    for item in incoming {
        let key = (item.type_name.clone(), item.name.clone());
        let base = bases.get(&key);
        let status = match base {
            None => "created",
            Some(b)
                if b.doc == item.doc
                    && b.state == State::Active
                    && b.strategy == item.strategy
                    && b.extends == item.extends
                    && b.namespace == item.namespace
                    && b.tags == item.tags
                    && b.package_id.as_deref() == Some(package_id) =>
            {
                "unchanged"
            }
            Some(_) => "updated",
        };
        statuses.push(status);
        let old = base.map_or(&empty, |b| &b.doc);
        let stored = by_item.get(&key).cloned().unwrap_or_default();
        if *old == item.doc || stored.is_empty() {
            continue; // the base did not change: every overlay stays as it is
        }
        let list: Vec<Overlay> = stored.iter().map(|s| s.overlay.clone()).collect();
        let by_id: BTreeMap<&str, &Stored> =
            stored.iter().map(|s| (s.overlay.id.as_str(), *s)).collect();
        let resolve = |o: &Overlay, path: &str| {
            let s = by_id.get(o.id.as_str())?;
            rules
                .iter()
                .find(|r| r.matches(s, path))
                .map(|r| r.resolution.clone())
        };
        for plan in plan_overlays(old, &item.doc, &list, strategy, &resolve) {
            let s = by_id[plan.id.as_str()];
            for f in plan.findings {
                findings.push((s, f));
            }
            rebases.push((s, plan.strategy, plan.doc));
        }
    }
    for (t, n) in &dropped {
        for s in by_item
            .get(&(t.clone(), n.clone()))
            .cloned()
            .unwrap_or_default()
        {
            overlay_report.push(json!({
                "tenant_id": s.overlay.tenant, "type": t, "name": n, "scope": s.scope.as_str(),
                "owner": s.overlay.owner, "status": "orphaned",
            }));
        }
    }
    findings.sort_by(|(a, fa), (b, fb)| {
        (
            &a.type_name,
            &a.name,
            &a.overlay.tenant,
            a.overlay.rank,
            &a.overlay.owner,
            &fa.path,
        )
            .cmp(&(
                &b.type_name,
                &b.name,
                &b.overlay.tenant,
                b.overlay.rank,
                &b.overlay.owner,
                &fb.path,
            ))
    });
    let conflicts = findings
        .iter()
        .filter(|(_, f)| f.outcome == Outcome::Conflict)
        .count();

    // Write, unless a conflict remains: new bases (dependencies first), then the overlays
    // (lowest layer first, as planned), then the deprecations.
    let written = conflicts == 0;
    let mut versions: Vec<Option<i32>> = vec![None; incoming.len()];
    let note = format!(
        "upgrade_package {package_id} {} -> {to_version}",
        from_version.unwrap_or("?")
    );
    let mut deprecated = Vec::new();
    if written {
        let docs: Vec<Value> = incoming
            .iter()
            .map(|i| json!({"type": i.type_name, "name": i.name, "metadata": i.doc, "extends": i.extends}))
            .collect();
        for i in import_order(&docs) {
            let item = &incoming[i];
            if statuses[i] == "unchanged" {
                continue;
            }
            let key = LayerKey {
                tenant: None,
                type_name: item.type_name.clone(),
                name: item.name.clone(),
                scope: Scope::System,
                owner: None,
            };
            let exists = statuses[i] == "updated";
            let save = Save {
                key,
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
                    package_id: Some(package_id.to_owned()),
                    package_version: Some(to_version.to_owned()),
                },
                on_conflict: OnConflict::Update,
                expected: Expectation::default(),
                note: Some(&note),
                op: exists.then_some(Op::Upgrade),
            };
            let row = save_layer(client, &infos[&item.type_name], save);
            versions[i] = Some(version_of(&row));
        }
        for (s, strategy, doc) in &rebases {
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
            let row = save_layer(client, &infos[&s.type_name], save);
            overlay_report.push(json!({
                "tenant_id": s.overlay.tenant, "type": s.type_name, "name": s.name,
                "scope": s.scope.as_str(), "owner": s.overlay.owner, "status": "rebased",
                "version": version_of(&row), "strategy": strategy.as_str(),
            }));
        }
        for (t, n) in &dropped {
            let base = &bases[&(t.clone(), n.clone())];
            if base.state == State::Deprecated {
                continue;
            }
            let save = Save {
                key: LayerKey {
                    tenant: None,
                    type_name: t.clone(),
                    name: n.clone(),
                    scope: Scope::System,
                    owner: None,
                },
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
            let info = type_info(t);
            let row = save_layer(client, &info, save);
            deprecated.push(
                json!({"type": t, "name": n, "status": "deprecated", "version": version_of(&row)}),
            );
        }
    } else {
        for (s, strategy, _) in &rebases {
            overlay_report.push(json!({
                "tenant_id": s.overlay.tenant, "type": s.type_name, "name": s.name,
                "scope": s.scope.as_str(), "owner": s.overlay.owner, "status": "rebased",
                "strategy": strategy.as_str(),
            }));
        }
        for (t, n) in &dropped {
            deprecated.push(json!({"type": t, "name": n, "status": "deprecated"}));
        }
    }

    let mut items: Vec<Value> = incoming
        .iter()
        .zip(&statuses)
        .zip(&versions)
        .map(|((i, status), version)| {
            let mut e = json!({"type": i.type_name, "name": i.name, "status": status});
            if let Some(v) = version {
                e["version"] = json!(v);
            }
            e
        })
        .collect();
    items.extend(deprecated);
    items.sort_by(|a, b| {
        (a["type"].as_str(), a["name"].as_str()).cmp(&(b["type"].as_str(), b["name"].as_str()))
    });
    overlay_report.sort_by_key(|e| {
        (
            e["type"].as_str().map(str::to_owned),
            e["name"].as_str().map(str::to_owned),
            e["tenant_id"].as_str().map(str::to_owned),
            e["scope"].as_str().map(str::to_owned),
            e["owner"].as_str().map(str::to_owned),
        )
    });
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in items.iter().chain(&overlay_report) {
        *counts
            .entry(e["status"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
    }
    for (_, f) in &findings {
        *counts.entry(f.outcome.as_str().to_owned()).or_default() += 1;
    }
    JsonB(json!({
        "package": package_id,
        "from_version": from_version,
        "to_version": to_version,
        "strategy": strategy_text,
        "written": written,
        "counts": counts,
        "items": items,
        "overlays": overlay_report,
        "findings": findings.iter().map(|(s, f)| finding_json(s, f)).collect::<Vec<_>>(),
    }))
}

/// `uninstall_package(..., keep_customisations => false)`: archives every live overlay
/// (platform or user row, of any tenant) over the live system rows of `package_id`, as
/// the extension's owner (history op `delete`), and returns how many. Errors: 42501 unless
/// metadata_admin, 22004.
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _archive_overlays(package_id: Option<&str>) -> i64 {
    require_admin("uninstall_package");
    let package_id = crate::pg::errors::required(package_id, "package_id");
    let Some(owner) = extension_owner() else {
        return 0;
    };
    as_role(owner, || {
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
}
