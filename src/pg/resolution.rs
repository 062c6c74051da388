//! Effective resolution functions (DESIGN §3), wrapped by `metadata.effective`,
//! `metadata.effective_all` and `metadata.explain` in `sql/effective.sql`.
//!
//! Each call plans the layers that apply (one SPI read per item of the `extends` chain),
//! then: a one-layer plan returns the stored jsonb as it is; a longer plan is looked up in
//! a per-backend memo keyed by the plan's checksums, and folded (RFC 7396) on a miss.

use crate::core::canonical::checksum;
use crate::core::layers::rank_of;
use crate::core::memo::{self, Memo};
use crate::core::resolve::{fold, Planned, ResolveError, Resolver};
use crate::pg::context::{current_tenant, current_user, setting};
use crate::pg::errors::{parse_scope, raise_resolve, required};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::settings::memo_budget;
use crate::pg::source::{read_document, Audience, Documents, SourceError, SpiSource};
use pgrx::prelude::*;
use std::cell::RefCell;

thread_local! {
    /// The backend's memo of effective documents (budget: `metadata.memo_size`).
    static MEMO: RefCell<Memo<JsonbBytes>> = RefCell::new(Memo::new(memo_budget()));
}

/// This backend's memo: its counters, entries, bytes and budget (`metadata.stats`).
pub fn memo_stats() -> (crate::core::memo::MemoStats, usize, usize, usize) {
    MEMO.with(|m| {
        let m = m.borrow();
        (m.stats(), m.len(), m.bytes(), memo_budget())
    })
}

fn caller(preview: Option<bool>) -> Audience {
    Audience {
        tenant: current_tenant(),
        user: current_user(),
        preview: preview.unwrap_or(false),
    }
}

/// The effective jsonb of a plan: the stored value for one layer, else the memo or a fold.
/// `SET metadata.effective_cache = off` bypasses the memo (to measure or rule it out).
fn effective_of(plan: Vec<Planned<JsonbBytes>>) -> Result<Option<JsonbBytes>, SourceError> {
    if plan.len() <= 1 {
        return Ok(plan.into_iter().next().map(|step| step.layer.doc));
    }
    let budget = memo_budget();
    let use_memo = budget > 0 && setting(c"metadata.effective_cache").is_none_or(|v| v != "off");
    let key = memo::key(plan.iter().map(|step| step.layer.meta.checksum.as_str()));
    if use_memo {
        let hit = MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            memo.set_budget(budget);
            memo.get(&key)
        });
        if let Some(hit) = hit {
            return Ok(Some(hit));
        }
    }
    let mut docs = Documents::default();
    let Some(value) = fold(&plan, |item, doc| docs.read(item, doc))? else {
        return Ok(None);
    };
    let bytes = JsonbBytes::from_value(&value);
    if use_memo {
        MEMO.with(|memo| memo.borrow_mut().insert(key, bytes.clone(), bytes.size()));
    }
    Ok(Some(bytes))
}

fn resolve_one(type_name: &str, name: &str, audience: Audience) -> Option<JsonbBytes> {
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience));
    let plan = resolver
        .plan(name)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    effective_of(plan).unwrap_or_else(|e| raise_resolve(type_name, ResolveError::Source(e)))
}

/// Effective document of (`type`, `name`) for the caller's tenant and user; NULL when the
/// item has no visible layer. Errors: 22004 (NULL type or name), 42P19, 23503, 54001.
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _effective(
    type_name: Option<&str>,
    name: Option<&str>,
    preview: Option<bool>,
) -> Option<JsonbBytes> {
    let type_name = required(type_name, "type");
    let name = required(name, "name");
    resolve_one(type_name, name, caller(preview))
}

/// Checksum of the document below a layer at (`scope`, `tenant`, `owner`) whose own
/// `extends` is `extends`, as its author sees it; NULL when nothing is below (0.1.0's `save`
/// called it as `metadata._below_checksum`; the write path now resolves once, in
/// `crate::pg::checks`). Errors: 22004, 22023 (unknown scope).
pub(crate) fn below_checksum_of(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
) -> Option<String> {
    below_document(type_name, name, scope, tenant, owner, extends, false)
        .as_ref()
        .map(checksum)
}

/// The document below a layer (see [`below_checksum_of`]; `preview`: drafts below apply,
/// as for a draft's author); None when nothing is below.
pub(crate) fn below_document(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
    preview: bool,
) -> Option<serde_json::Value> {
    let type_name = required(type_name, "type");
    let name = required(name, "name");
    let scope_text = required(scope, "scope");
    let scope = parse_scope(scope_text);
    let audience = Audience {
        tenant: tenant.map(str::to_owned),
        user: owner.map(str::to_owned),
        preview,
    };
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience));
    let plan = resolver
        .plan_below(name, rank_of(scope, tenant.is_some()), extends)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    fold(&plan, read_document).unwrap_or_else(|e| raise_resolve(type_name, ResolveError::Source(e)))
}

/// `(name, doc)` of every item of `type` visible to the caller, in name order, resolved
/// from one read of the table. Errors: as `_effective`.
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _effective_all(
    type_name: Option<&str>,
    preview: Option<bool>,
) -> TableIterator<'static, (name!(name, String), name!(doc, JsonbBytes))> {
    let type_name = required(type_name, "type").to_owned();
    let mut source = SpiSource::new(&type_name, caller(preview));
    let names = source
        .prefetch_all()
        .unwrap_or_else(|e| raise_resolve(&type_name, ResolveError::Source(e)));
    let mut resolver = Resolver::new(source);
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let plan = resolver
            .plan(&name)
            .unwrap_or_else(|e| raise_resolve(&type_name, e));
        match effective_of(plan) {
            Ok(Some(doc)) => out.push((name, doc)),
            Ok(None) => {}
            Err(e) => raise_resolve(&type_name, ResolveError::Source(e)),
        }
    }
    TableIterator::new(out)
}

/// One row per layer applied to build the effective document, bottom first (ancestors'
/// layers before the item's), with staleness. Errors: as `_effective`.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _explain(
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
    let type_name = required(type_name, "type");
    let name = required(name, "name");
    let mut resolver = Resolver::new(SpiSource::new(type_name, caller(preview)));
    let applied = resolver
        .explain(name, read_document)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    TableIterator::new(applied.into_iter().enumerate().map(|(i, a)| {
        (
            i as i32 + 1,
            a.item,
            a.meta.scope.as_str().to_owned(),
            a.meta.tenant_id,
            a.meta.owner,
            a.meta.strategy.as_str().to_owned(),
            a.meta.state.as_str().to_owned(),
            a.meta.version,
            a.meta.extends,
            a.meta.checksum,
            a.meta.base_checksum,
            a.stale,
        )
    }))
}
