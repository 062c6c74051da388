//! Three-way merge of a customisation over a package upgrade (DESIGN §4 "Packages";
//! `../shared/research/package-upgrade.md` §3.3): the old base O, the new base N and the
//! customised document C (O with the overlay applied) are compared per JSON Pointer, and
//! the result is the document the overlay should now produce over N. Objects are compared
//! member by member; any other value (arrays included, as RFC 7396 treats them) is one
//! leaf. Then [`merge_patch_diff`] gives the minimal RFC 7396 merge patch that turns N
//! into the result: the overlay to store.
//!
//! At a path where C differs from O (customised):
//!
//! | N | result | finding |
//! |---|---|---|
//! | N = O (package unchanged there) | C | none |
//! | N = C (both made the same change) | N | none (the patch shrinks) |
//! | otherwise, `three-way-merge` | resolution, else C | `conflict` |
//! | otherwise, `keep-custom` | C | `masked` (the customisation hides the new value) |
//! | otherwise, `accept-incoming` | N | `overwritten` |
//!
//! Where C equals O the new base shows through. A conflict is reported at the highest
//! path where the three differ and cannot be merged member by member (the package removed
//! an object the overlay edits: at that object, not at the edited member).

use crate::core::layers::{Rank, Strategy as LayerStrategy};
use crate::core::pointer::escape_token;
use crate::core::resolve::merge_patch;
use serde_json::{Map, Value};

/// How an upgrade treats a path that both the package and a customisation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The customisation stays; reported as masking the package's new value.
    KeepCustom,
    /// The package's value wins; that part of the customisation is dropped (reported).
    AcceptIncoming,
    /// A conflict, unless a resolution says which value to take.
    ThreeWayMerge,
}

impl Strategy {
    /// Parses `keep-custom`, `accept-incoming` or `three-way-merge` (ObjectStack's names).
    pub fn parse(text: &str) -> Option<Strategy> {
        match text {
            "keep-custom" => Some(Strategy::KeepCustom),
            "accept-incoming" => Some(Strategy::AcceptIncoming),
            "three-way-merge" => Some(Strategy::ThreeWayMerge),
            _ => None,
        }
    }
}

/// What happened at a path both sides changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not merged: the caller must resolve it (`three-way-merge`).
    Conflict,
    /// Resolved by a resolution given for this path.
    Resolved,
    /// The customisation kept over a new package value (`keep-custom`).
    Masked,
    /// The package's value taken over the customisation (`accept-incoming`).
    Overwritten,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Conflict => "conflict",
            Outcome::Resolved => "resolved",
            Outcome::Masked => "masked",
            Outcome::Overwritten => "overwritten",
        }
    }
}

/// The shape of a difference, as the research names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Both changed the value, differently.
    ModifyModify,
    /// The package removed what the customisation changed.
    DeleteModify,
    /// The customisation removed what the package changed.
    ModifyDelete,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ModifyModify => "modify/modify",
            Kind::DeleteModify => "delete/modify",
            Kind::ModifyDelete => "modify/delete",
        }
    }
}

/// How a caller resolves one path (`resolutions` of `upgrade_package`).
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Keep the customisation's value.
    Custom,
    /// Take the package's new value.
    Incoming,
    /// Take this value (`None`: the member is removed).
    Value(Option<Value>),
}

/// One path both sides changed: the old base's, the new base's and the customised value
/// there (`None`: absent), what was done, and the kind of difference.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub path: String,
    pub old_base: Option<Value>,
    pub new_base: Option<Value>,
    pub custom: Option<Value>,
    pub outcome: Outcome,
    pub kind: Kind,
}

/// The merged document (what the overlay should produce over the new base) and the
/// findings, in document order of their paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub doc: Value,
    pub findings: Vec<Finding>,
}

impl Merged {
    /// Whether a finding is an unresolved conflict.
    pub fn has_conflicts(&self) -> bool {
        self.findings.iter().any(|f| f.outcome == Outcome::Conflict)
    }
}

/// Merges per the table in the module documentation. `resolve(path)` gives the caller's
/// resolution of a path, if any (it is asked only where both sides changed).
pub fn merge3(
    old_base: &Value,
    new_base: &Value,
    custom: &Value,
    strategy: Strategy,
    resolve: &dyn Fn(&str) -> Option<Resolution>,
) -> Merged {
    let mut findings = Vec::new();
    let doc = merge_at(
        "",
        Some(old_base),
        Some(new_base),
        Some(custom),
        strategy,
        resolve,
        &mut findings,
    )
    .unwrap_or(Value::Object(Map::new()));
    Merged { doc, findings }
}

fn merge_at(
    path: &str,
    o: Option<&Value>,
    n: Option<&Value>,
    c: Option<&Value>,
    strategy: Strategy,
    resolve: &dyn Fn(&str) -> Option<Resolution>,
    findings: &mut Vec<Finding>,
) -> Option<Value> {
    if c == o {
        return n.cloned(); // not customised here: the new base shows through
    }
    if n == o || n == c {
        return c.cloned(); // the package did not change it, or made the same change
    }
    // All three differ. Objects on every side that has one merge member by member.
    if let (Some(Value::Object(om)), Some(Value::Object(nm)), Some(Value::Object(cm))) = (o, n, c) {
        let mut keys: Vec<&String> = nm.keys().chain(cm.keys()).chain(om.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut out = Map::new();
        for key in keys {
            let child = format!("{path}/{}", escape_token(key));
            if let Some(v) = merge_at(
                &child,
                om.get(key),
                nm.get(key),
                cm.get(key),
                strategy,
                resolve,
                findings,
            ) {
                out.insert(key.clone(), v);
            }
        }
        return Some(Value::Object(out));
    }
    let kind = match (n, c) {
        (None, _) => Kind::DeleteModify,
        (_, None) => Kind::ModifyDelete,
        _ => Kind::ModifyModify,
    };
    let (value, outcome) = match (resolve(path), strategy) {
        (Some(Resolution::Custom), _) => (c.cloned(), Outcome::Resolved),
        (Some(Resolution::Incoming), _) => (n.cloned(), Outcome::Resolved),
        (Some(Resolution::Value(v)), _) => (v, Outcome::Resolved),
        (None, Strategy::KeepCustom) => (c.cloned(), Outcome::Masked),
        (None, Strategy::AcceptIncoming) => (n.cloned(), Outcome::Overwritten),
        (None, Strategy::ThreeWayMerge) => (c.cloned(), Outcome::Conflict),
    };
    findings.push(Finding {
        path: path.to_owned(),
        old_base: o.cloned(),
        new_base: n.cloned(),
        custom: c.cloned(),
        outcome,
        kind,
    });
    value
}

/// The minimal RFC 7396 merge patch that turns `from` into `to` (objects both: member by
/// member, `null` for a removed member; otherwise `to` itself), or `None` when no merge
/// patch can: `to` holds a `null` that a merge patch would read as "remove" (RFC 7396 §1),
/// or is not an object. Then the overlay must replace instead.
pub fn merge_patch_diff(from: &Value, to: &Value) -> Option<Value> {
    let (Value::Object(f), Value::Object(t)) = (from, to) else {
        return None;
    };
    let mut patch = Map::new();
    for key in f.keys() {
        if !t.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, tv) in t {
        match f.get(key) {
            Some(fv) if fv == tv => {}
            Some(fv @ Value::Object(_)) if tv.is_object() => {
                patch.insert(key.clone(), merge_patch_diff(fv, tv)?);
            }
            _ => {
                if contains_null(tv) {
                    return None;
                }
                patch.insert(key.clone(), tv.clone());
            }
        }
    }
    Some(Value::Object(patch))
}

/// Whether `value` is or holds (inside objects) a `null`, which a merge patch cannot set.
fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.values().any(contains_null),
        _ => false,
    }
}

/// One overlay layer over a package item: its identity (for the report and the
/// resolutions), its rank (`crate::core::layers::rank_of`), whose it is, and its stored
/// strategy and document.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    pub id: String,
    pub rank: Rank,
    pub tenant: Option<String>,
    pub owner: Option<String>,
    pub strategy: LayerStrategy,
    pub doc: Value,
}

impl Overlay {
    /// Whether `self` lies below `above` in `above`'s audience: a lower rank, and global or
    /// of the same tenant, and no user or the same user.
    fn is_below(&self, above: &Overlay) -> bool {
        self.rank < above.rank
            && (self.tenant.is_none() || self.tenant == above.tenant)
            && (self.owner.is_none() || self.owner == above.owner)
    }
}

/// What an upgrade does to one overlay: the strategy and document to store (the minimal
/// merge patch over what is now below it, or the merged document as a replacement when no
/// merge patch can express it), whether that differs from what is stored, and the paths
/// both sides changed.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayPlan {
    pub id: String,
    pub strategy: LayerStrategy,
    pub doc: Value,
    pub changed: bool,
    pub findings: Vec<Finding>,
}

/// Plans the upgrade of every overlay of one item from `old_base` to `new_base`, lowest
/// rank first (a tenant's platform overlay before its users' overlays, which are merged
/// over its planned result). A `replace` overlay does not depend on the base and stays as
/// it is. `resolve(overlay, path)` gives the caller's resolution, if any.
pub fn plan_overlays(
    old_base: &Value,
    new_base: &Value,
    overlays: &[Overlay],
    strategy: Strategy,
    resolve: &dyn Fn(&Overlay, &str) -> Option<Resolution>,
) -> Vec<OverlayPlan> {
    let mut order: Vec<&Overlay> = overlays.iter().collect();
    order.sort_by(|a, b| {
        (a.rank, &a.tenant, &a.owner, &a.id).cmp(&(b.rank, &b.tenant, &b.owner, &b.id))
    });
    let mut plans: Vec<(&Overlay, OverlayPlan)> = Vec::with_capacity(order.len());
    for overlay in order {
        if overlay.strategy == LayerStrategy::Replace {
            plans.push((
                overlay,
                OverlayPlan {
                    id: overlay.id.clone(),
                    strategy: overlay.strategy,
                    doc: overlay.doc.clone(),
                    changed: false,
                    findings: Vec::new(),
                },
            ));
            continue;
        }
        // What is below this overlay, before (old docs) and after (planned docs).
        let mut old_below = old_base.clone();
        let mut new_below = new_base.clone();
        for (lower, plan) in plans.iter().filter(|(l, _)| l.is_below(overlay)) {
            apply(&mut old_below, lower.strategy, &lower.doc);
            apply(&mut new_below, plan.strategy, &plan.doc);
        }
        let mut custom = old_below.clone();
        merge_patch(&mut custom, &overlay.doc);
        let merged = merge3(&old_below, &new_below, &custom, strategy, &|p| {
            resolve(overlay, p)
        });
        let (strategy_now, doc) = match merge_patch_diff(&new_below, &merged.doc) {
            Some(patch) => (LayerStrategy::Merge, patch),
            None => (LayerStrategy::Replace, merged.doc.clone()),
        };
        let changed = strategy_now != overlay.strategy || doc != overlay.doc;
        plans.push((
            overlay,
            OverlayPlan {
                id: overlay.id.clone(),
                strategy: strategy_now,
                doc,
                changed,
                findings: merged.findings,
            },
        ));
    }
    plans.into_iter().map(|(_, p)| p).collect()
}

fn apply(doc: &mut Value, strategy: LayerStrategy, layer: &Value) {
    match strategy {
        LayerStrategy::Replace => *doc = layer.clone(),
        LayerStrategy::Merge => merge_patch(doc, layer),
    }
}

#[cfg(test)]
#[path = "merge3_tests.rs"]
mod tests;
