//! The checks a write must pass (DESIGN §3–§4), one implementation for `save`, `publish`,
//! `rollback` and plain SQL writes (the write trigger): the layer about to be stored is
//! resolved, with the stored layers of its audience, in one resolution:
//! * the item still resolves (no `extends` cycle, no missing parent, no chain too long);
//! * the type's rules over what is below hold (`crate::core::policy`);
//! * the effective document satisfies the type's schema, per its validation mode
//!   (`strict`: 23514 with the errors in DETAIL; `lenient`: a WARNING; `off`: nothing).
//!
//! The checksum of what is below the layer becomes its `base_checksum`. At commit, for
//! `strict` types that check references, every name at a reference path must be an
//! existing item (`check_references`).

use crate::core::canonical::checksum;
use crate::core::layers::{Layer, Scope};
use crate::core::policy::{self, PolicyError, Rules};
use crate::core::references::references;
use crate::core::resolve::{fold, LayerSource, Planned, ResolveError, Resolver, WithLayer};
use crate::core::schema::{errors, SchemaError};
use crate::pg::errors::{raise, raise_resolve, raise_with};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::LayerKey;
use crate::pg::source::{Audience, Documents, SourceError, SpiSource};
use crate::pg::statements::{run, TEXT};
use crate::pg::types::{type_info, validator, TypeInfo};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use serde_json::Value;

/// Errors listed in a DETAIL at most.
const MAX_LISTED_ERRORS: usize = 20;

/// "object/account for tenant acme and user u1": whose view a check is about.
fn subject(type_name: &str, name: &str, audience: &Audience) -> String {
    let mut out = format!("{type_name}/{name}");
    if let Some(t) = &audience.tenant {
        out.push_str(&format!(" for tenant {t}"));
    }
    if let Some(u) = &audience.user {
        out.push_str(&format!(" and user {u}"));
    }
    out
}

/// Validates `doc` per the type's mode; raises 23514 (strict) or warns (lenient).
fn enforce_schema(info: &TypeInfo, subject: &str, doc: &Value) {
    if info.validation_mode == "off" {
        return;
    }
    let Some(v) = validator(info) else { return };
    let found: Vec<SchemaError> = errors(&v, doc);
    let Some(first) = found.first() else { return };
    let more = match found.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let message = format!(
        "{subject} does not match the schema of type \"{}\": {} at \"{}\"{more}",
        info.name, first.message, first.instance_path
    );
    let listed: Vec<Value> = found
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(SchemaError::to_json)
        .collect();
    let detail = Value::Array(listed).to_string();
    if info.validation_mode == "strict" {
        raise(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            message,
            Some(detail),
        );
    }
    ErrorReport::new(PgSqlErrorCode::ERRCODE_WARNING, message, "metadata")
        .set_detail(detail)
        .report(PgLogLevel::WARNING);
}

/// The layer a write is about to store: the layer itself (its rank, strategy, extends and
/// document bytes) and its document parsed.
pub struct NewLayer {
    pub layer: Layer<JsonbBytes>,
    pub parsed: Value,
}

/// What is below a layer: the checksum of that document (`None`: nothing is below).
pub type BaseChecksum = Option<String>;

/// Whether a write would change nothing, given the checksum of what is below its layer.
pub type Unchanged<'a> = Option<&'a dyn Fn(Option<&str>) -> bool>;

/// Raises 42501 insufficient_privilege when row level security would refuse the caller a
/// row of `key` (the rule is `metadata._row_writable`, sql/security.sql; it is asked only
/// when row level security applies to the caller). Writes check this first, so that a write
/// outside the caller's rights gets that error, not one of the checks that run before the
/// table's policies.
pub fn require_writable(key: &LayerKey) {
    let writable = Spi::connect_mut(|client| {
        run(
            client,
            "checks/writable",
            || {
                "SELECT NOT pg_catalog.row_security_active('metadata.sys_metadata'::pg_catalog.regclass) \
                     OR metadata._row_writable($1, $2, $3)"
                    .to_owned()
            },
            &[TEXT, TEXT, TEXT],
            &[
                key.tenant.as_deref().into(),
                key.scope.as_str().into(),
                key.owner.as_deref().into(),
            ],
            |rows| rows.first().get::<bool>(1).ok().flatten().unwrap_or(false),
        )
    });
    if !writable {
        raise_with(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "new row violates row-level security policy for table \"sys_metadata\"".to_owned(),
            Some(format!("The caller may not write {}.", key.describe())),
            None,
        );
    }
}

/// Checks the layer of `key` that a write is about to store (`new`), or that is stored
/// already (`None`: 0.1.0's `save` checks after writing), for the layer's audience (its
/// tenant and owner; `preview`: a draft, seen with the other drafts). Returns the checksum
/// of what is below the layer (its `base_checksum`), or `None` without checking when
/// `unchanged` says, given that checksum, that the write would change nothing.
/// Errors: 42P19/23503/54001 resolution, 0A000 and 23514 (policy), 23514 (strict schema).
pub fn check_layer(
    info: &TypeInfo,
    key: &LayerKey,
    extends: Option<&str>,
    preview: bool,
    new: Option<NewLayer>,
    unchanged: Unchanged<'_>,
) -> Option<BaseChecksum> {
    let audience = Audience {
        tenant: key.tenant.clone(),
        user: key.owner.clone(),
        preview,
    };
    let who = subject(&key.type_name, &key.name, &audience);
    let source = SpiSource::new(&key.type_name, audience);
    let mut docs = Documents::default();
    match new {
        Some(new) => {
            docs.seed(&new.layer.doc, new.parsed);
            let source = WithLayer::new(source, &key.name, new.layer);
            check_resolved(
                info,
                key,
                extends,
                &who,
                Resolver::new(source),
                docs,
                unchanged,
            )
        }
        None => check_resolved(
            info,
            key,
            extends,
            &who,
            Resolver::new(source),
            docs,
            unchanged,
        ),
    }
}

fn check_resolved<S: LayerSource<Doc = JsonbBytes, Error = SourceError>>(
    info: &TypeInfo,
    key: &LayerKey,
    extends: Option<&str>,
    who: &str,
    mut resolver: Resolver<S>,
    mut docs: Documents,
    unchanged: Unchanged<'_>,
) -> Option<BaseChecksum> {
    let type_name = key.type_name.as_str();
    let rank = key.rank();
    let mut folded = |plan: &[Planned<JsonbBytes>]| -> Option<Value> {
        fold(plan, |item, doc| docs.read(item, doc))
            .unwrap_or_else(|e| raise_resolve(type_name, ResolveError::Source(e)))
    };
    let effective_plan = resolver
        .plan(&key.name)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    let below_plan = resolver
        .plan_below(&key.name, rank, extends)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    let below = folded(&below_plan);
    let base = below.as_ref().map(checksum);
    if unchanged.is_some_and(|same| same(base.as_deref())) {
        return None;
    }
    let through = if info.locked_paths.is_empty() || below.is_none() {
        Value::Null
    } else {
        let plan = resolver
            .plan_through(&key.name, rank, extends)
            .unwrap_or_else(|e| raise_resolve(type_name, e));
        folded(&plan).unwrap_or(Value::Null)
    };
    let rules = Rules {
        supports_overlay: info.supports_overlay,
        allow_runtime_create: info.allow_runtime_create,
        locked_paths: &info.locked_paths,
    };
    if let Err(e) = policy::check(rules, key.scope, below.as_ref(), &through) {
        let code = match e {
            PolicyError::LockedPathsChanged(_) => PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            _ => PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        };
        raise(code, format!("{who}: {e} (type \"{type_name}\")"), None);
    }
    if let Some(effective) = folded(&effective_plan) {
        enforce_schema(info, &format!("effective document of {who}"), &effective);
    }
    Some(base)
}

/// At commit: for a `strict` type with reference paths and `check_references`, every
/// string at a reference path of the effective document of (`type`, `name`) for the row's
/// audience names an existing item of the target type. Errors: 23503 foreign_key_violation.
pub fn check_references(type_name: &str, name: &str, tenant: Option<&str>, owner: Option<&str>) {
    let info = type_info(type_name);
    if info.validation_mode != "strict" || !info.check_references || info.reference_paths.is_empty()
    {
        return;
    }
    let audience = Audience {
        tenant: tenant.map(str::to_owned),
        user: owner.map(str::to_owned),
        preview: false,
    };
    let who = subject(type_name, name, &audience);
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience.clone()));
    let plan = resolver
        .plan(name)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    let mut docs = Documents::default();
    let Some(doc) = fold(&plan, |item, d| docs.read(item, d))
        .unwrap_or_else(|e| raise_resolve(type_name, ResolveError::Source(e)))
    else {
        return;
    };
    for (pattern, target) in &info.reference_paths {
        for r in references(&doc, &[(pattern.clone(), target.clone())]) {
            let mut targets = SpiSource::new(&r.target_type, audience.clone());
            let found = targets
                .layers(&r.target_name)
                .unwrap_or_else(|e| raise_resolve(&r.target_type, ResolveError::Source(e)));
            if found.is_empty() {
                raise(
                    PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
                    format!(
                        "{who}: \"{}\" names {} \"{}\", which does not exist",
                        r.path, r.target_type, r.target_name
                    ),
                    Some(format!(
                        "reference path {pattern} of type {type_name} -> {target}"
                    )),
                );
            }
        }
    }
}

/// The scope of a key, for the checks of a stored layer (0.1.0's `_check_write`).
pub fn stored_key(
    type_name: &str,
    name: &str,
    scope: Scope,
    tenant: Option<&str>,
    owner: Option<&str>,
) -> LayerKey {
    LayerKey {
        tenant: tenant.map(str::to_owned),
        type_name: type_name.to_owned(),
        name: name.to_owned(),
        scope,
        owner: owner.map(str::to_owned),
    }
}
