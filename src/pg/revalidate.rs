//! Revalidation (DESIGN §4 "Catalog", `revalidate(type)`): which stored effective
//! documents of a type fail its JSON Schema as registered now. `metadata.revalidate`
//! checks what the caller sees; a type's registration checks every tenant's documents (as
//! the extension's owner) to report them, and for a strict type to refuse the change.

use crate::core::resolve::{fold, Resolver};
use crate::core::schema::{errors, SchemaError};
use crate::pg::errors::{item_of, listed, notice, raise_with, required};
use crate::pg::owner::{as_extension_owner, require_admin};
use crate::pg::source::{read_document, Audience, SpiSource};
use crate::pg::statements::{run, TEXT};
use crate::pg::types::{type_info, validator};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;
use std::collections::BTreeMap;

/// One failing effective document: whose (tenant, user), which item, its schema errors.
type Failure = (Option<String>, Option<String>, String, Vec<SchemaError>);

/// The items to check, by audience: each item in the audience of each of its live layers
/// (the global one for global rows, the tenant's for its platform rows, the user's for a
/// user row). An item reached only through `extends` from another audience is checked in
/// the audiences of its own layers.
fn audiences(type_name: &str) -> BTreeMap<(Option<String>, Option<String>), Vec<String>> {
    Spi::connect_mut(|client| {
        run(
            client,
            "revalidate/audiences",
            || {
                "SELECT DISTINCT m.tenant_id, \
                        CASE WHEN m.scope OPERATOR(pg_catalog.=) 'user' THEN m.owner END, m.name::pg_catalog.text \
                 FROM metadata.sys_metadata m \
                 WHERE m.type OPERATOR(pg_catalog.=) $1 \
                   AND m.state OPERATOR(pg_catalog.=) ANY (ARRAY['active', 'deprecated']::pg_catalog.text[]) \
                 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3"
                    .to_owned()
            },
            &[TEXT],
            &[type_name.into()],
            |rows| {
                let mut out: BTreeMap<_, Vec<String>> = BTreeMap::new();
                for row in rows {
                    let text = |i: usize| row.get::<String>(i).ok().flatten();
                    out.entry((text(1), text(2)))
                        .or_default()
                        .push(text(3).unwrap_or_default());
                }
                out
            },
        )
    })
}

/// The effective documents of `type_name` that fail its schema now, with the number
/// checked. Documents that do not resolve (a missing parent) are not counted.
fn failures(type_name: &str) -> (usize, Vec<Failure>) {
    let info = type_info(type_name);
    let Some(validator) = validator(&info) else {
        return (0, Vec::new());
    };
    let mut checked = 0;
    let mut failed = Vec::new();
    for ((tenant, user), names) in audiences(type_name) {
        let audience = Audience {
            tenant: tenant.clone(),
            user: user.clone(),
            preview: false,
        };
        let mut source = SpiSource::new(type_name, audience);
        if source.prefetch_all().is_err() {
            continue;
        }
        let mut resolver = Resolver::new(source);
        for name in names {
            let Ok(plan) = resolver.plan(&name) else {
                continue;
            };
            let Ok(Some(doc)) = fold(&plan, read_document) else {
                continue;
            };
            checked += 1;
            let found = errors(&validator, &doc);
            if !found.is_empty() {
                failed.push((tenant.clone(), user.clone(), name, found));
            }
        }
    }
    (checked, failed)
}

/// `(tenant_id, owner, name, errors)` of every stored effective document of `type` that
/// does not satisfy the type's JSON Schema now (errors as `metadata.validate` gives them),
/// in tenant, owner and name order; `everywhere`: every tenant's and user's documents, as
/// the extension's owner (for the registration; metadata_admin only), else those the
/// caller sees. Errors: 22004, 42704 unknown type, 42501.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_restricted)]
pub(crate) fn _revalidate(
    type_name: Option<&str>,
    everywhere: Option<bool>,
) -> TableIterator<
    'static,
    (
        name!(tenant_id, Option<String>),
        name!(owner, Option<String>),
        name!(name, String),
        name!(errors, JsonB),
    ),
> {
    let type_name = required(type_name, "type").to_owned();
    type_info(&type_name);
    let (_, failed) = if everywhere.unwrap_or(false) {
        require_admin("checking every tenant's documents");
        as_extension_owner(|| failures(&type_name)).unwrap_or((0, Vec::new()))
    } else {
        failures(&type_name)
    };
    TableIterator::new(failed.into_iter().map(|(t, u, n, e)| {
        (
            t,
            u,
            n,
            JsonB(Value::Array(e.iter().map(SchemaError::to_json).collect())),
        )
    }))
}

/// Run by `register_type` and `register_schemas` (metadata_admin) after they changed the
/// schema or mode of `type`: revalidates every tenant's stored effective documents of the
/// type (unless its mode is `off`) and returns how many fail. When some do, a `strict`
/// type refuses the change with 23514 check_violation (the documents in DETAIL) unless
/// `force`; otherwise a NOTICE says how many fail and which. Errors: 23514, 42501.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _check_registration(type_name: Option<&str>, force: Option<bool>) -> i32 {
    let type_name = required(type_name, "type").to_owned();
    let info = type_info(&type_name);
    if info.validation_mode == "off" {
        return 0; // nothing is validated: nothing to report
    }
    require_admin("changing a type's schema");
    let Some((checked, failed)) = as_extension_owner(|| failures(&type_name)) else {
        return 0;
    };
    if failed.is_empty() {
        return 0;
    }
    let lines = failed.iter().map(|(tenant, user, name, errors)| {
        let who = item_of(&type_name, name, tenant.as_deref(), user.as_deref());
        format!(
            "{who}: \"{}\": {}",
            errors[0].instance_path, errors[0].message
        )
    });
    let detail = listed(lines, failed.len());
    let message = format!(
        "{} of {checked} stored effective documents of type \"{type_name}\" do not satisfy its new schema",
        failed.len()
    );
    if info.validation_mode == "strict" && !force.unwrap_or(false) {
        raise_with(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            message,
            Some(detail),
            Some("Fix those documents first, or pass force => true to register the schema anyway (metadata.revalidate lists them).".to_owned()),
        );
    }
    notice(message, detail);
    i32::try_from(failed.len()).unwrap_or(i32::MAX)
}
