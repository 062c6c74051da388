//! The caller's context (DESIGN §1): `metadata.tenant_id` and `metadata.user_id` settings.

use pgrx::pg_sys;
use std::ffi::CStr;

/// The value of a custom setting, `None` when unset or empty (DESIGN §1: an empty tenant
/// is the global space).
pub fn setting(name: &CStr) -> Option<String> {
    // SAFETY: GetConfigOption returns NULL or a pointer to the setting's current string,
    // valid until the setting changes; we copy it at once.
    let value = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if value.is_null() {
        return None;
    }
    let text = unsafe { CStr::from_ptr(value) }.to_string_lossy();
    (!text.is_empty()).then(|| text.into_owned())
}

/// The tenant of the caller: `SET metadata.tenant_id`, `None` for the global space;
/// checked against the tenant binding of the login and the current role
/// (`crate::pg::binding`: 42501 for a tenant they are not bound to).
pub fn current_tenant() -> Option<String> {
    let tenant = setting(c"metadata.tenant_id");
    crate::pg::binding::check(tenant.as_deref());
    tenant
}

/// The user of the caller: `SET metadata.user_id`, `None` when unset.
pub fn current_user() -> Option<String> {
    setting(c"metadata.user_id")
}

/// The actor recorded in the audit columns and the history: `metadata.user_id`, else the
/// current role's name.
pub fn actor() -> String {
    current_user().unwrap_or_else(|| {
        // SAFETY: the name of the current role, which exists.
        unsafe {
            let name = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false);
            CStr::from_ptr(name).to_string_lossy().into_owned()
        }
    })
}

/// Whether the session restores a dump: the rule is `metadata._restoring()`
/// (sql/schema.sql), asked only when `row_security` is off (its first condition), so the
/// usual write pays for one setting lookup.
pub fn restoring() -> bool {
    if setting(c"row_security").as_deref() != Some("off") {
        return false;
    }
    crate::pg::statements::read_one::<bool>("SELECT metadata._restoring()", &[]).unwrap_or(false)
}
