//! Tenant binding (DESIGN §5): a deployment that gives each tenant its own database role
//! can bind roles to the tenants they may act for (`metadata.bind_tenant`, table
//! `metadata.sys_metadata_tenant_binding`). A bound role's `metadata.tenant_id` must be one
//! of its tenants (or unset: the global space); any other raises 42501, wherever the
//! tenant is read: `metadata.current_tenant()` (and so every row level security policy)
//! and the library's own reads. The login (session_user) and the current role (SET ROLE)
//! are both checked, so a bound login cannot switch the binding off by changing role.
//! Roles without bindings act for any tenant, as before (the application is trusted with
//! the setting).
//!
//! Bindings are cached per backend and dropped when the table changes: a trigger on it
//! invalidates its relation cache entry, which reaches every backend at commit.

use crate::pg::errors::raise_with;
use crate::pg::owner::as_extension_owner;
use crate::pg::statements::query;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

thread_local! {
    /// Tenants of each role looked up: `None` = the role is not bound.
    static BINDINGS: RefCell<HashMap<pg_sys::Oid, Option<Vec<String>>>> = RefCell::new(HashMap::new());
    /// The binding table, once known (its relation cache invalidations clear the cache).
    static TABLE: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    static CALLBACK: Cell<bool> = const { Cell::new(false) };
}

#[pg_guard]
unsafe extern "C-unwind" fn invalidated(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid || relid == TABLE.with(Cell::get) {
        BINDINGS.with(|b| b.borrow_mut().clear());
    }
}

/// The tenants `role` is bound to (`None`: not bound).
fn tenants_of(role: pg_sys::Oid) -> Option<Vec<String>> {
    if let Some(found) = BINDINGS.with(|b| b.borrow().get(&role).cloned()) {
        return found;
    }
    if !CALLBACK.with(Cell::get) {
        // SAFETY: registers a function of this library, for the backend's life.
        unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(invalidated), pg_sys::Datum::from(0)) };
        CALLBACK.with(|c| c.set(true));
    }
    let found = as_extension_owner(|| {
        Spi::connect(|client| {
            let table = query(
                client,
                "bindings/table",
                || {
                    "SELECT pg_catalog.to_regclass('metadata.sys_metadata_tenant_binding')::pg_catalog.oid"
                        .to_owned()
                },
                &[],
                &[],
                |rows| rows.first().get::<pg_sys::Oid>(1).expect("an oid"),
            )?;
            // The SQL of a release without bindings (the library was replaced, the update
            // not run yet): no role is bound, as then; nothing is cached, so the bindings
            // count as soon as the update has created their table.
            let tenants = query(
                client,
                "bindings/of",
                || {
                    "SELECT pg_catalog.array_agg(b.tenant_id ORDER BY b.tenant_id) \
                     FROM metadata.sys_metadata_tenant_binding b \
                     WHERE b.role OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regrole"
                        .to_owned()
                },
                &[pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::OIDOID)],
                &[role.into()],
                |rows| rows.first().get::<Vec<String>>(1).expect("tenants"),
            );
            Some((table, tenants))
        })
    });
    let (table, tenants) = found.flatten()?;
    TABLE.with(|t| t.set(table));
    BINDINGS.with(|b| b.borrow_mut().insert(role, tenants.clone()));
    tenants
}

fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: the name of an existing role (the session's or the current one).
    unsafe {
        let name = pg_sys::GetUserNameFromId(role, true);
        if name.is_null() {
            return format!("{role:?}");
        }
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    }
}

/// Raises 42501 unless the login and the current role may act for `tenant` (the value of
/// `metadata.tenant_id`; `None` is the global space, open to every role).
pub fn check(tenant: Option<&str>) {
    let Some(tenant) = tenant else { return };
    // SAFETY: reading the session's and the outer current user ids.
    let roles = unsafe { [pg_sys::GetSessionUserId(), pg_sys::GetOuterUserId()] };
    for role in roles {
        if let Some(tenants) = tenants_of(role) {
            if !tenants.iter().any(|t| t == tenant) {
                raise_with(
                    PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    format!(
                        "role \"{}\" may not act for tenant \"{}\"",
                        role_name(role),
                        crate::pg::key::truncate(tenant)
                    ),
                    Some(format!("It is bound to: {}.", tenants.join(", "))),
                    Some(
                        "See metadata.sys_metadata_tenant_binding (metadata.bind_tenant)."
                            .to_owned(),
                    ),
                );
            }
        }
    }
}

/// The caller's tenant (`metadata.tenant_id`, NULL when unset or empty), checked against
/// the tenant binding of the login and the current role. Errors: 42501.
#[pg_extern(stable, parallel_safe)]
pub(crate) fn _current_tenant() -> Option<String> {
    crate::pg::context::current_tenant()
}

/// Statement trigger of the binding table: every backend drops its cached bindings when
/// the change commits.
#[pg_trigger]
fn sys_metadata_tenant_binding_changed<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, pgrx::heap_tuple::PgHeapTupleError>
{
    let relid = trigger.relid().expect("the binding table");
    // SAFETY: queues a relation cache invalidation of an existing relation.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    Ok(None)
}
