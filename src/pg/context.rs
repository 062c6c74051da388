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
