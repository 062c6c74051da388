//! Effective resolution functions (DESIGN §3), wrapped by `metadata.effective`,
//! `metadata.effective_all` and `metadata.explain` in `sql/api.sql`.

use crate::core::canonical::checksum;
use crate::core::layers::{rank_of, Scope};
use crate::core::resolve::Resolver;
use crate::pg::context::{current_tenant, current_user};
use crate::pg::errors::{raise, raise_resolve};
use crate::pg::source::{Audience, SpiSource};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

fn required<'a>(value: Option<&'a str>, what: &str) -> &'a str {
    value.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{what} must not be NULL"),
            None,
        )
    })
}

fn caller(preview: Option<bool>) -> Audience {
    Audience {
        tenant: current_tenant(),
        user: current_user(),
        preview: preview.unwrap_or(false),
    }
}

fn resolve_one(type_name: &str, name: &str, audience: Audience) -> Option<JsonB> {
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience));
    match resolver.effective(name) {
        Ok(doc) => doc.map(JsonB),
        Err(e) => raise_resolve(type_name, e),
    }
}

/// Effective document of (`type`, `name`) for the caller's tenant and user; NULL when the
/// item has no visible layer. Errors: 22004 (NULL type or name), 42P19, 23503, 54001.
#[pg_extern(stable, parallel_restricted, name = "_effective")]
fn effective(type_name: Option<&str>, name: Option<&str>, preview: Option<bool>) -> Option<JsonB> {
    let type_name = required(type_name, "type");
    let name = required(name, "name");
    resolve_one(type_name, name, caller(preview))
}

/// Effective document for an explicit audience (`tenant`, `user`): what `save` checks for
/// the audience of the row it writes.
#[pg_extern(stable, parallel_restricted, name = "_effective_for")]
fn effective_for(
    type_name: Option<&str>,
    name: Option<&str>,
    tenant: Option<&str>,
    user: Option<&str>,
    preview: Option<bool>,
) -> Option<JsonB> {
    let type_name = required(type_name, "type");
    let name = required(name, "name");
    let audience = Audience {
        tenant: tenant.map(str::to_owned),
        user: user.map(str::to_owned),
        preview: preview.unwrap_or(false),
    };
    resolve_one(type_name, name, audience)
}

/// Checksum of the document below a layer at (`scope`, `tenant`, `owner`) whose own
/// `extends` is `extends`, as its author sees it; NULL when nothing is below. Used by
/// `save` for `base_checksum`. Errors: 22023 (unknown scope).
#[pg_extern(stable, parallel_restricted, name = "_below_checksum")]
fn below_checksum(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
) -> Option<String> {
    let type_name = required(type_name, "type");
    let name = required(name, "name");
    let scope_text = required(scope, "scope");
    let scope = Scope::parse(scope_text).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown scope \"{scope_text}\""),
            None,
        )
    });
    let audience = Audience {
        tenant: tenant.map(str::to_owned),
        user: owner.map(str::to_owned),
        preview: false,
    };
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience));
    match resolver.below(name, rank_of(scope, tenant.is_some()), extends) {
        Ok(doc) => doc.as_ref().map(checksum),
        Err(e) => raise_resolve(type_name, e),
    }
}

/// `(name, doc)` of every item of `type` visible to the caller, in name order, resolved
/// from one read of the table. Errors: as `_effective`.
#[pg_extern(stable, parallel_restricted, name = "_effective_all")]
fn effective_all(
    type_name: Option<&str>,
    preview: Option<bool>,
) -> TableIterator<'static, (name!(name, String), name!(doc, JsonB))> {
    let type_name = required(type_name, "type").to_owned();
    let mut source = SpiSource::new(&type_name, caller(preview));
    let names = source.prefetch_all().unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("{type_name}: {e}"),
            None,
        )
    });
    let mut resolver = Resolver::new(source);
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        match resolver.effective(&name) {
            Ok(Some(doc)) => out.push((name, JsonB(doc))),
            Ok(None) => {}
            Err(e) => raise_resolve(&type_name, e),
        }
    }
    TableIterator::new(out)
}

/// One row per layer applied to build the effective document, bottom first (ancestors'
/// layers before the item's), with staleness. Errors: as `_effective`.
#[pg_extern(stable, parallel_restricted, name = "_explain")]
fn explain(
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
        .explain(name)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    TableIterator::new(applied.into_iter().enumerate().map(|(i, a)| {
        (
            i as i32 + 1,
            a.item,
            a.meta.scope.as_str().to_owned(),
            a.meta.tenant_id,
            a.meta.owner,
            a.meta.strategy.as_str().to_owned(),
            a.meta.state,
            a.meta.version,
            a.meta.extends,
            a.meta.checksum,
            a.meta.base_checksum,
            a.stale,
        )
    }))
}
