//! Package upgrades (DESIGN §4 "Packages"), the decisions: what a package bundle and the
//! caller's resolutions say ([`parse_bundle`], [`parse_rules`]), and, from the stored system
//! rows and the overlays over them, what an upgrade does ([`plan_upgrade`]): which items are
//! created, updated, unchanged or deprecated, which overlays are merged by
//! [`crate::core::merge3::plan_overlays`] and what they become, and the findings in a
//! stable order. `crate::pg::packages` reads the rows, writes the plan and reports it.

use crate::core::document::{json_type_name, parse_document, DocumentError};
use crate::core::layers::{Scope, State, Strategy as LayerStrategy};
use crate::core::merge3::{plan_overlays, Finding, Outcome, Overlay, Resolution, Strategy};
use crate::core::names::is_machine_name;
use crate::core::pointer::tokens;
use serde_json::{Map, Value};
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

/// Why a bundle or a resolution is refused: the message names the JSON Pointer (RFC 6901)
/// of the bad member.
#[derive(Debug, Clone, PartialEq)]
pub enum BundleError {
    /// SQLSTATE 22023 invalid_parameter_value.
    Invalid(String),
    /// SQLSTATE 42602 invalid_name.
    Name(String),
    /// A document over the limits of `crate::core::document` (54000/54001).
    Document(DocumentError),
}

type Parsed<T> = Result<T, BundleError>;

fn invalid<T>(message: String) -> Parsed<T> {
    Err(BundleError::Invalid(message))
}

fn short(value: &str) -> String {
    value.chars().take(200).collect()
}

/// One item of the new version.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub type_name: String,
    pub name: String,
    pub doc: Value,
    pub strategy: LayerStrategy,
    pub extends: Option<String>,
    pub namespace: String,
    pub tags: Vec<String>,
}

/// The live system row of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    pub doc: Value,
    pub checksum: String,
    pub state: State,
    pub package_id: Option<String>,
    pub strategy: LayerStrategy,
    pub extends: Option<String>,
    pub namespace: String,
    pub tags: Vec<String>,
}

impl Base {
    /// Whether the item, stored as `self`, already is `item` of `package_id`.
    fn is(&self, item: &Incoming, package_id: &str) -> bool {
        self.doc == item.doc
            && self.state == State::Active
            && self.strategy == item.strategy
            && self.extends == item.extends
            && self.namespace == item.namespace
            && self.tags == item.tags
            && self.package_id.as_deref() == Some(package_id)
    }
}

/// A live overlay (platform or user row) over an item.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOverlay {
    pub type_name: String,
    pub name: String,
    pub overlay: Overlay,
    pub scope: Scope,
    pub state: State,
}

/// A caller's resolution of a path: the item and path it names, optionally the overlay's
/// tenant (`Some(None)`: global), scope and owner; absent parts match every overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub type_name: String,
    pub name: String,
    pub path: String,
    pub tenant: Option<Option<String>>,
    pub scope: Option<String>,
    pub owner: Option<Option<String>>,
    pub resolution: Resolution,
}

impl Rule {
    fn matches(&self, s: &StoredOverlay, path: &str) -> bool {
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

/// The string member `key` of `object` (absent or null: `None`), refused when it is
/// something else.
fn string<'a>(object: &'a Map<String, Value>, key: &str, at: &str) -> Parsed<Option<&'a str>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => invalid(format!(
            "{at}/{key} must be a string, not {}",
            json_type_name(other)
        )),
    }
}

/// The new version and items of a package bundle: `{"package": {"id", "version"},
/// "items": [{type, name, metadata, scope?: "system", strategy?, extends?, namespace?,
/// tags?}]}` (the corpus bundle format, DESIGN §4 "Packages"); the id must be
/// `package_id`, the version 1 to 64 characters, each (type, name) once.
pub fn parse_bundle(package_id: &str, bundle: &Value) -> Parsed<(String, Vec<Incoming>)> {
    let Value::Object(bundle) = bundle else {
        return invalid("bundle must be a JSON object".to_owned());
    };
    let Some(Value::Object(package)) = bundle.get("package") else {
        return invalid(
            "a package bundle needs \"package\": {\"id\", \"version\"} (at /package)".to_owned(),
        );
    };
    let id = string(package, "id", "/package")?.unwrap_or("");
    if id != package_id {
        return invalid(format!(
            "the bundle is package \"{}\", not \"{}\" (at /package/id)",
            short(id),
            short(package_id)
        ));
    }
    let Some(version) = string(package, "version", "/package")?
        .filter(|v| !v.is_empty() && v.chars().count() <= 64)
    else {
        return invalid("/package/version must be a string of 1 to 64 characters".to_owned());
    };
    let Some(Value::Array(items)) = bundle.get("items") else {
        return invalid("bundle must have an array \"items\" (at /items)".to_owned());
    };
    let mut seen = BTreeSet::new();
    let mut incoming = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item = parse_item(item, &format!("/items/{i}"))?;
        if !seen.insert((item.type_name.clone(), item.name.clone())) {
            return invalid(format!(
                "/items/{i}: {} \"{}\" is in the bundle twice",
                item.type_name, item.name
            ));
        }
        incoming.push(item);
    }
    Ok((version.to_owned(), incoming))
}

fn parse_item(item: &Value, at: &str) -> Parsed<Incoming> {
    let Value::Object(item) = item else {
        return invalid(format!("{at} must be a JSON object"));
    };
    if let Some(k) = item.keys().find(|k| !ITEM_KEYS.contains(&k.as_str())) {
        return invalid(format!(
            "unknown member \"{}\" at {at} (a package item is global and of scope system)",
            short(k)
        ));
    }
    if string(item, "scope", at)?.is_some_and(|s| s != "system") {
        return invalid(format!("{at}/scope: a package's items are of scope system"));
    }
    let name_at = |key: &str| -> Parsed<Option<String>> {
        match string(item, key, at)? {
            Some(n) if !is_machine_name(n) => Err(BundleError::Name(format!(
                "invalid {key} \"{}\" at {at}/{key}",
                short(n)
            ))),
            n => Ok(n.map(str::to_owned)),
        }
    };
    let Some(type_name) = string(item, "type", at)? else {
        return invalid(format!("{at}/type is missing"));
    };
    let Some(name) = name_at("name")? else {
        return invalid(format!("{at}/name is missing"));
    };
    let Some(doc) = item.get("metadata").filter(|d| d.is_object()) else {
        return invalid(format!("{at}/metadata must be a JSON object"));
    };
    let text = serde_json::to_string(doc).expect("serialising JSON");
    let doc = parse_document(&text).map_err(BundleError::Document)?;
    let strategy = match string(item, "strategy", at)? {
        None => LayerStrategy::Merge,
        Some(s) => match LayerStrategy::parse(s) {
            Some(s) => s,
            None => return invalid(format!("{at}/strategy: unknown \"{}\"", short(s))),
        },
    };
    let tags = match item.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(t)) if t.iter().all(Value::is_string) => t
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect(),
        Some(_) => return invalid(format!("{at}/tags must be an array of strings")),
    };
    Ok(Incoming {
        type_name: type_name.to_owned(),
        name,
        doc,
        strategy,
        extends: name_at("extends")?,
        namespace: name_at("namespace")?.unwrap_or_else(|| "default".to_owned()),
        tags,
    })
}

/// The caller's resolutions: `[{type, name, path, tenant_id?, scope?, owner?, resolution:
/// "custom" | "incoming" | "value", value?}]` (with "value", `value` absent removes the
/// member). Other members are ignored, so a report's findings can be passed back with a
/// `resolution` added. NULL: none.
pub fn parse_rules(resolutions: Option<&Value>) -> Parsed<Vec<Rule>> {
    let items = match resolutions {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return invalid("resolutions must be a JSON array".to_owned()),
    };
    let mut rules = Vec::with_capacity(items.len());
    for (i, r) in items.iter().enumerate() {
        let at = format!("/resolutions/{i}");
        let Value::Object(r) = r else {
            return invalid(format!("{at} must be a JSON object"));
        };
        let need = |key: &str| -> Parsed<String> {
            match string(r, key, &at)? {
                Some(v) => Ok(v.to_owned()),
                None => invalid(format!("{at}/{key} is missing")),
            }
        };
        let optional = |key: &str| -> Parsed<Option<Option<String>>> {
            if r.contains_key(key) {
                Ok(Some(string(r, key, &at)?.map(str::to_owned)))
            } else {
                Ok(None)
            }
        };
        let path = need("path")?;
        if tokens(&path).is_none() {
            return invalid(format!("{at}/path is not a JSON Pointer (RFC 6901)"));
        }
        let resolution = match need("resolution")?.as_str() {
            "custom" => Resolution::Custom,
            "incoming" => Resolution::Incoming,
            "value" => Resolution::Value(r.get("value").cloned()),
            other => {
                return invalid(format!(
                    "{at}/resolution: unknown \"{}\" (use custom, incoming or value)",
                    short(other)
                ))
            }
        };
        rules.push(Rule {
            type_name: need("type")?,
            name: need("name")?,
            path,
            tenant: optional("tenant_id")?,
            scope: optional("scope")?.flatten(),
            owner: optional("owner")?,
            resolution,
        });
    }
    Ok(rules)
}

/// What an upgrade does to an item of the new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// Not stored yet: created.
    Created,
    /// Its document or attributes change, or it becomes this package's.
    Updated,
    /// Stored as it is: not written.
    Unchanged,
}

impl ItemStatus {
    /// The report's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Created => "created",
            ItemStatus::Updated => "updated",
            ItemStatus::Unchanged => "unchanged",
        }
    }
}

/// What an upgrade does, by index into its inputs: per incoming item its status; the
/// overlays to write again (index into the overlays, the strategy and document they get),
/// lowest layer of each item first; the findings (index of the overlay), ordered by item,
/// tenant, layer, owner and path; the stored items of the package the new version no
/// longer ships (`dropped`, keys into the bases) and the overlays over them (`orphaned`).
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradePlan {
    pub statuses: Vec<ItemStatus>,
    pub rebases: Vec<(usize, LayerStrategy, Value)>,
    pub findings: Vec<(usize, Finding)>,
    pub dropped: Vec<(String, String)>,
    pub orphaned: Vec<usize>,
}

impl UpgradePlan {
    /// How many findings are unresolved conflicts (then nothing may be written).
    pub fn conflicts(&self) -> usize {
        self.findings
            .iter()
            .filter(|(_, f)| f.outcome == Outcome::Conflict)
            .count()
    }
}

/// An item of the bundle whose system row belongs to another package: (index, that package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignItem {
    pub index: usize,
    pub package_id: String,
}

/// Plans the upgrade of `package_id` to `incoming` over the live system rows `bases` (of
/// the package, and of the bundle's items) and the live `overlays` over them. Per item:
/// created when not stored, unchanged when stored as it is (its `package_version` then
/// stays that of the version that last changed it), updated otherwise. Where the document
/// changes, every overlay over it is planned by `plan_overlays` with the old base (the
/// stored document, `{}` for a new item) and the new one; `resolve` by `rules`. Refused
/// when an item's system row belongs to another package.
pub fn plan_upgrade(
    package_id: &str,
    incoming: &[Incoming],
    bases: &BTreeMap<(String, String), Base>,
    overlays: &[StoredOverlay],
    strategy: Strategy,
    rules: &[Rule],
) -> Result<UpgradePlan, ForeignItem> {
    let key = |t: &str, n: &str| (t.to_owned(), n.to_owned());
    for (index, item) in incoming.iter().enumerate() {
        if let Some(other) = bases
            .get(&key(&item.type_name, &item.name))
            .and_then(|b| b.package_id.as_deref())
            .filter(|p| *p != package_id)
        {
            return Err(ForeignItem {
                index,
                package_id: other.to_owned(),
            });
        }
    }
    let mut by_item: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, s) in overlays.iter().enumerate() {
        by_item
            .entry(key(&s.type_name, &s.name))
            .or_default()
            .push(i);
    }
    let empty = Value::Object(Map::new());
    let mut plan = UpgradePlan {
        statuses: Vec::with_capacity(incoming.len()),
        rebases: Vec::new(),
        findings: Vec::new(),
        dropped: Vec::new(),
        orphaned: Vec::new(),
    };
    for item in incoming {
        let k = key(&item.type_name, &item.name);
        let base = bases.get(&k);
        plan.statuses.push(match base {
            None => ItemStatus::Created,
            Some(b) if b.is(item, package_id) => ItemStatus::Unchanged,
            Some(_) => ItemStatus::Updated,
        });
        let old = base.map_or(&empty, |b| &b.doc);
        let over = by_item.get(&k).map(Vec::as_slice).unwrap_or_default();
        if *old == item.doc || over.is_empty() {
            continue; // the base did not change: every overlay stays as it is
        }
        let list: Vec<Overlay> = over.iter().map(|&i| overlays[i].overlay.clone()).collect();
        let index_of: BTreeMap<&str, usize> = over
            .iter()
            .map(|&i| (overlays[i].overlay.id.as_str(), i))
            .collect();
        let resolve = |o: &Overlay, path: &str| {
            let s = &overlays[*index_of.get(o.id.as_str())?];
            rules
                .iter()
                .find(|r| r.matches(s, path))
                .map(|r| r.resolution.clone())
        };
        for p in plan_overlays(old, &item.doc, &list, strategy, &resolve) {
            let i = index_of[p.id.as_str()];
            plan.findings.extend(p.findings.into_iter().map(|f| (i, f)));
            plan.rebases.push((i, p.strategy, p.doc));
        }
    }
    let named: BTreeSet<(&str, &str)> = incoming
        .iter()
        .map(|i| (i.type_name.as_str(), i.name.as_str()))
        .collect();
    for ((t, n), b) in bases {
        if b.package_id.as_deref() == Some(package_id) && !named.contains(&(t.as_str(), n.as_str()))
        {
            plan.dropped.push((t.clone(), n.clone()));
            plan.orphaned
                .extend(by_item.get(&(t.clone(), n.clone())).into_iter().flatten());
        }
    }
    plan.findings.sort_by(|(a, fa), (b, fb)| {
        let (a, b) = (&overlays[*a], &overlays[*b]);
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
    Ok(plan)
}

#[cfg(test)]
#[path = "package_tests.rs"]
mod tests;
