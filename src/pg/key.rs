//! The layer a call addresses (DESIGN §2 "one row per (tenant, type, name, scope, owner)"),
//! from its arguments and the caller's context, written once for every function that takes
//! `scope` and `owner`: system rows are global and have no owner; platform rows belong to
//! the caller's tenant; user rows to the caller's tenant and to `owner`, by default the
//! caller's `metadata.user_id`.

use crate::core::layers::{rank_of, Rank, Scope};
use crate::core::names::is_machine_name;
use crate::pg::context::{current_tenant, current_user};
use crate::pg::errors::{raise, required};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// One layer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerKey {
    pub tenant: Option<String>,
    pub type_name: String,
    pub name: String,
    pub scope: Scope,
    pub owner: Option<String>,
}

impl LayerKey {
    /// The key of (`type`, `name`) at `scope` (SQL spelling) for the caller: `owner` only for
    /// user scope (default `metadata.user_id`). Errors: 22004 NULL type, name or scope, 22023
    /// unknown scope, an owner outside user scope, user scope without one.
    pub fn for_caller(
        type_name: Option<&str>,
        name: Option<&str>,
        scope: Option<&str>,
        owner: Option<&str>,
    ) -> LayerKey {
        let type_name = required(type_name, "type").to_owned();
        let name = required(name, "name").to_owned();
        let (tenant, scope, owner) = key_of(required(scope, "scope"), owner);
        LayerKey {
            tenant,
            type_name,
            name,
            scope,
            owner,
        }
    }

    /// The rank of the layer in the effective stack.
    pub fn rank(&self) -> Rank {
        rank_of(self.scope, self.tenant.is_some())
    }

    /// "object/account at scope platform of tenant acme for user u1", for messages.
    pub fn describe(&self) -> String {
        describe(
            &self.type_name,
            &self.name,
            self.scope.as_str(),
            self.tenant.as_deref(),
            self.owner.as_deref(),
        )
    }
}

/// The (tenant, scope, owner) a write at `scope` addresses for the caller (see the module
/// documentation). Errors: 22023.
fn key_of(scope: &str, owner: Option<&str>) -> (Option<String>, Scope, Option<String>) {
    let scope = Scope::parse(scope).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown scope \"{}\"", truncate(scope)),
            Some("Use one of: system, platform, user.".to_owned()),
        )
    });
    let owner = owner.filter(|o| !o.is_empty());
    let owner = match (scope, owner) {
        (Scope::User, Some(owner)) => Some(owner.to_owned()),
        (Scope::User, None) => Some(current_user().unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "a user-scope layer needs an owner".to_owned(),
                Some("Pass owner => ... or SET metadata.user_id.".to_owned()),
            )
        })),
        (_, Some(_)) => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "only user-scope layers have an owner (scope is {})",
                scope.as_str()
            ),
            None,
        ),
        (_, None) => None,
    };
    let tenant = if scope == Scope::System {
        None
    } else {
        current_tenant()
    };
    (tenant, scope, owner)
}

/// At most 200 characters of a value quoted in a message.
pub fn truncate(value: &str) -> String {
    value.chars().take(200).collect()
}

/// The one wording of a layer in messages.
pub fn describe(
    type_name: &str,
    name: &str,
    scope: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
) -> String {
    let mut out = format!("{type_name}/{name} at scope {scope}");
    if let Some(t) = tenant {
        out.push_str(&format!(" of tenant {t}"));
    }
    if let Some(o) = owner {
        out.push_str(&format!(" for user {o}"));
    }
    out
}

/// `value`, or ERROR 42602 invalid_name unless it is a machine name (`what` names it).
pub fn require_name<'a>(value: Option<&'a str>, what: &str) -> &'a str {
    let value = required(value, what);
    if !is_machine_name(value) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_NAME,
            format!("invalid {what} \"{}\"", truncate(value)),
            Some(
                "Names start with a letter or \"_\" and contain only letters, digits, \"_\", \".\" and \"-\" (at most 128)."
                    .to_owned(),
            ),
        )
    }
    value
}

/// `(tenant_id, owner_id)` of the layer at `scope` for the caller, as [`LayerKey`] decides
/// them. Errors: 22004 NULL scope, 22023.
#[pg_extern(stable, parallel_safe)]
pub(crate) fn _layer_key(
    scope: Option<&str>,
    owner: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(tenant_id, Option<String>),
        name!(owner_id, Option<String>),
    ),
> {
    let (tenant, _, owner) = key_of(required(scope, "scope"), owner);
    TableIterator::once((tenant, owner))
}

/// The wording of a layer in messages: "object/account at scope platform of tenant acme".
#[pg_extern(immutable, parallel_safe)]
pub(crate) fn _describe(
    type_name: &str,
    name: &str,
    scope: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
) -> String {
    describe(type_name, name, scope, tenant, owner)
}

/// Whether `name` is a machine name (the rule of the domain `metadata.machine_name`).
#[pg_extern(immutable, parallel_safe, strict)]
pub(crate) fn _is_machine_name(name: &str) -> bool {
    is_machine_name(name)
}

/// Whether `name` is a type name (the rule of `sys_metadata_type.name`).
#[pg_extern(immutable, parallel_safe, strict)]
pub(crate) fn _is_type_name(name: &str) -> bool {
    crate::core::names::is_type_name(name)
}
