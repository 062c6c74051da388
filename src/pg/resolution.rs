//! Effective resolution functions (DESIGN §3), wrapped by `metadata.effective`,
//! `metadata.effective_all` and `metadata.explain` in `sql/effective.sql`.
//!
//! Each call plans the layers that apply (one SPI read per item of the `extends` chain),
//! then: a one-layer plan returns the stored jsonb as it is; a longer plan is looked up in
//! a per-backend memo keyed by the plan's checksums, and folded (RFC 7396) on a miss.
//!
//! In preloaded mode a whole answer is remembered too, keyed by the question (function,
//! role, tenant, user, preview, type, name) and stamped with the change buckets it depends
//! on and its snapshot's completion count: when nothing it depends on changed
//! ([`crate::core::shortcut`]), the next call answers from memory without planning, that is
//! without reading the table. Both kinds share the memo and its budget.

use crate::core::canonical::checksum;
use crate::core::layers::rank_of;
use crate::core::memo::{self, Memo};
use crate::core::resolve::{fold, Planned, ResolveError, Resolver};
use crate::pg::context::{current_tenant, current_user, setting};
use crate::pg::counters::{may_serve_now, stamp, Stamp};
use crate::pg::errors::{parse_scope, raise_resolve, required};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::settings::memo_budget;
use crate::pg::source::{read_document, Audience, Documents, SourceError, SpiSource};
use pgrx::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// One row of `explain`.
type ExplainRow = (
    i32,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i32,
    Option<String>,
    String,
    Option<String>,
    bool,
);

/// A whole answer of one of the three functions.
enum Answer {
    One(Option<JsonbBytes>),
    All(Vec<(String, JsonbBytes)>),
    Explain(Vec<ExplainRow>),
}

impl Answer {
    /// Bytes the answer holds (what the memo's budget counts).
    fn size(&self) -> usize {
        match self {
            Answer::One(doc) => doc.as_ref().map_or(0, JsonbBytes::size),
            Answer::All(rows) => rows.iter().map(|(n, d)| n.len() + d.size() + 48).sum(),
            Answer::Explain(rows) => rows.len() * 256,
        }
    }
}

/// What the memo holds.
#[derive(Clone)]
enum Remembered {
    /// The fold of a plan, keyed by the plan's layer checksums.
    Fold(JsonbBytes),
    /// A whole answer with its stamp, keyed by the question (preloaded mode).
    Answer(Rc<(Stamp, Answer)>),
}

thread_local! {
    /// The backend's memo of effective documents (budget: `metadata.memo_size`).
    static MEMO: RefCell<Memo<Remembered>> = RefCell::new(Memo::new(memo_budget()));
}

/// Whether the memo is used now (`metadata.memo_size` above 0, `metadata.effective_cache`
/// not off); sets its budget to the setting's.
fn memo_on() -> bool {
    let budget = memo_budget();
    let on = budget > 0 && setting(c"metadata.effective_cache").is_none_or(|v| v != "off");
    if on {
        MEMO.with(|memo| memo.borrow_mut().set_budget(budget));
    }
    on
}

/// The key of a question: which function, the role, the caller's tenant and user, preview,
/// the type and the item (`None` for `effective_all`).
fn question(function: &str, type_name: &str, name: Option<&str>, audience: &Audience) -> memo::Key {
    // SAFETY: the current role's OID.
    let role = u32::from(unsafe { pg_sys::GetUserId() }).to_string();
    let none = "\u{1}";
    memo::key([
        "answer",
        function,
        role.as_str(),
        audience.tenant.as_deref().unwrap_or(none),
        audience.user.as_deref().unwrap_or(none),
        if audience.preview { "preview" } else { "live" },
        type_name,
        name.unwrap_or(none),
    ])
}

/// Answers a question from the memo when preloaded mode allows it (see the module
/// documentation), else computes it with `compute` and remembers it when it may be. `pick`
/// takes the answer of the right kind.
fn answered<R>(
    key: memo::Key,
    type_name: &str,
    audience: &Audience,
    pick: impl Fn(&Answer) -> Option<R>,
    compute: impl FnOnce() -> Answer,
) -> R {
    let now = if memo_on() {
        stamp(audience.tenant.as_deref(), type_name)
    } else {
        None
    };
    let Some(now) = now else {
        return pick(&compute()).expect("the answer of the question's kind");
    };
    let hit = MEMO.with(|memo| {
        memo.borrow_mut().get_valid(
            &key,
            |v| matches!(v, Remembered::Answer(entry) if may_serve_now(&entry.0, &now)),
        )
    });
    if let Some(Remembered::Answer(entry)) = hit {
        if let Some(answer) = pick(&entry.1) {
            return answer;
        }
    }
    let answer = compute();
    let result = pick(&answer).expect("the answer of the question's kind");
    let size = answer.size();
    MEMO.with(|memo| {
        memo.borrow_mut()
            .replace(key, Remembered::Answer(Rc::new((now, answer))), size)
    });
    result
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
    let use_memo = memo_on();
    let key = memo::key(plan.iter().map(|step| step.layer.meta.checksum.as_str()));
    if use_memo {
        if let Some(Remembered::Fold(hit)) = MEMO.with(|memo| memo.borrow_mut().get(&key)) {
            return Ok(Some(hit));
        }
    }
    let mut docs = Documents::default();
    let Some(value) = fold(&plan, |item, doc| docs.read(item, doc))? else {
        return Ok(None);
    };
    let bytes = JsonbBytes::from_value(&value);
    if use_memo {
        MEMO.with(|memo| {
            memo.borrow_mut()
                .insert(key, Remembered::Fold(bytes.clone()), bytes.size())
        });
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
    let audience = caller(preview);
    let key = question("effective", type_name, Some(name), &audience);
    answered(
        key,
        type_name,
        &audience,
        |a| match a {
            Answer::One(doc) => Some(doc.clone()),
            _ => None,
        },
        || Answer::One(resolve_one(type_name, name, audience.clone())),
    )
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
    let type_name = required(type_name, "type");
    let audience = caller(preview);
    let key = question("effective_all", type_name, None, &audience);
    let rows = answered(
        key,
        type_name,
        &audience,
        |a| match a {
            Answer::All(rows) => Some(rows.clone()),
            _ => None,
        },
        || Answer::All(resolve_all(type_name, audience.clone())),
    );
    TableIterator::new(rows)
}

fn resolve_all(type_name: &str, audience: Audience) -> Vec<(String, JsonbBytes)> {
    let type_name = type_name.to_owned();
    let mut source = SpiSource::new(&type_name, audience);
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
    out
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
    let audience = caller(preview);
    let key = question("explain", type_name, Some(name), &audience);
    let rows = answered(
        key,
        type_name,
        &audience,
        |a| match a {
            Answer::Explain(rows) => Some(rows.clone()),
            _ => None,
        },
        || Answer::Explain(explain_rows(type_name, name, audience.clone())),
    );
    TableIterator::new(rows)
}

fn explain_rows(type_name: &str, name: &str, audience: Audience) -> Vec<ExplainRow> {
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience));
    let applied = resolver
        .explain(name, read_document)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    applied
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
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
        })
        .collect()
}
