//! The checks a write must pass (DESIGN §3–§4), called by `save` and `publish` for the
//! audience of the layer written, and at commit for references:
//! * the item still resolves (no `extends` cycle, no missing parent);
//! * the type allows an overlay over what is below, or a runtime-created item;
//! * the layer changes none of the type's `locked_paths`;
//! * the effective document satisfies the type's schema, per its validation mode
//!   (`strict`: 23514 with the errors in DETAIL; `lenient`: a WARNING; `off`: nothing);
//! * at commit, for `strict` types that check references, every name at a reference path
//!   is an existing item.

use crate::core::layers::{rank_of, Scope};
use crate::core::pointer::select;
use crate::core::resolve::{fold, LayerSource, Planned, ResolveError, Resolver};
use crate::core::schema::{errors, SchemaError};
use crate::pg::errors::{parse_scope, raise, raise_resolve};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::source::{read_document, Audience, SpiSource};
use crate::pg::types::{type_info, validator, TypeInfo};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use serde_json::Value;

/// Errors listed in a DETAIL at most.
const MAX_LISTED_ERRORS: usize = 20;

fn folded(type_name: &str, plan: &[Planned<JsonbBytes>]) -> Option<Value> {
    fold(plan, read_document).unwrap_or_else(|e| raise_resolve(type_name, ResolveError::Source(e)))
}

fn what(type_name: &str, name: &str, audience: &Audience) -> String {
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

/// Checks a layer just written at (`scope`, `tenant`, `owner`) with its `extends`, for its
/// audience (`draft`: the audience's preview). Errors: 42704 unknown type, 42P19/23503/54001
/// resolution, 0A000 overlay or runtime creation not allowed by the type, 23514 locked path
/// changed or (strict) schema not satisfied.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _check_write(
    type_name: &str,
    name: &str,
    scope: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
    extends: Option<&str>,
    draft: bool,
) {
    let info = type_info(type_name);
    let scope = parse_scope(scope);
    let audience = Audience {
        tenant: tenant.map(str::to_owned),
        user: owner.map(str::to_owned),
        preview: draft,
    };
    let subject = what(type_name, name, &audience);
    let rank = rank_of(scope, tenant.is_some());
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience));
    let effective_plan = resolver
        .plan(name)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    let below_plan = resolver
        .plan_below(name, rank, extends)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    let below = folded(type_name, &below_plan);

    if scope != Scope::System {
        if below.is_some() && !info.supports_overlay {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("type \"{type_name}\" does not allow overlays ({subject})"),
                None,
            );
        }
        if below.is_none() && !info.allow_runtime_create {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("type \"{type_name}\" does not allow items created outside the system scope ({subject})"),
                None,
            );
        }
    }
    if let (Some(below), false) = (&below, info.locked_paths.is_empty()) {
        let through_plan = resolver
            .plan_through(name, rank, extends)
            .unwrap_or_else(|e| raise_resolve(type_name, e));
        let through = folded(type_name, &through_plan).unwrap_or(Value::Null);
        let changed: Vec<&str> = info
            .locked_paths
            .iter()
            .filter(|p| below.pointer(p) != through.pointer(p))
            .map(String::as_str)
            .collect();
        if !changed.is_empty() {
            raise(
                PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                format!(
                    "{subject}: the layer changes locked path {}",
                    changed.join(", ")
                ),
                None,
            );
        }
    }
    if let Some(effective) = folded(type_name, &effective_plan) {
        enforce_schema(
            &info,
            &format!("effective document of {subject}"),
            &effective,
        );
    }
}

/// At commit (constraint trigger): for a `strict` type with reference paths and
/// `check_references`, every string
/// at a reference path of the effective document of (`type`, `name`) for the row's audience
/// names an existing item of the target type. Errors: 23503 foreign_key_violation.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _check_references(
    type_name: &str,
    name: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
) {
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
    let subject = what(type_name, name, &audience);
    let mut resolver = Resolver::new(SpiSource::new(type_name, audience.clone()));
    let plan = resolver
        .plan(name)
        .unwrap_or_else(|e| raise_resolve(type_name, e));
    let Some(doc) = folded(type_name, &plan) else {
        return;
    };
    for (path, target) in &info.reference_paths {
        for (pointer, value) in select(&doc, path) {
            let Some(target_name) = value.as_str() else {
                continue;
            };
            let mut targets = SpiSource::new(target, audience.clone());
            let found = targets
                .layers(target_name)
                .unwrap_or_else(|e| raise_resolve(target, ResolveError::Source(e)));
            if found.is_empty() {
                raise(
                    PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
                    format!(
                        "{subject}: \"{pointer}\" names {target} \"{target_name}\", which does not exist"
                    ),
                    Some(format!("reference path {path} of type {type_name} -> {target}")),
                );
            }
        }
    }
}
