//! The extension's own role: the feed and the tenant bindings are read and written by the
//! extension, not by the caller, so those steps run as the role that owns the extension.

use crate::pg::statements::query;
use pgrx::prelude::*;

/// The role that owns the extension (the feed is written by the extension, not by the
/// caller); `None` when the extension is not installed (dropped in this transaction).
pub fn extension_owner() -> Option<pg_sys::Oid> {
    Spi::connect(|client| {
        query(
            client,
            "feed/owner",
            || {
                "SELECT e.extowner FROM pg_catalog.pg_extension e \
                 WHERE e.extname OPERATOR(pg_catalog.=) 'metadata'"
                    .to_owned()
            },
            &[],
            &[],
            |rows| {
                (!rows.is_empty())
                    .then(|| rows.first().get::<pg_sys::Oid>(1).expect("an owner"))
                    .flatten()
            },
        )
    })
}

/// Runs `f` as the role that owns the extension (then returns to the caller's role);
/// `None`, without running it, when the extension is not installed (dropped in this
/// transaction).
pub fn as_extension_owner<R>(f: impl FnOnce() -> R) -> Option<R> {
    extension_owner().map(|owner| as_role(owner, f))
}

/// Runs `f` as `role`, then returns to the caller's role.
pub fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let mut user = pg_sys::InvalidOid;
    let mut context = 0;
    // SAFETY: saving and switching the current user id, as SECURITY DEFINER functions do;
    // the guard restores it (an error restores it too, when the transaction aborts).
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(role, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
    struct Restore(pg_sys::Oid, i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: restores the values saved above.
            unsafe { pg_sys::SetUserIdAndSecContext(self.0, self.1) }
        }
    }
    let _restore = Restore(user, context);
    f()
}

/// Raises 42501 insufficient_privilege, saying `what` needs it, unless the current role is
/// a metadata_admin (`metadata._is_admin()`, the rule of sql/security.sql).
pub fn require_admin(what: &str) {
    let admin = crate::pg::statements::read_one::<bool>("SELECT metadata._is_admin()", &[])
        .unwrap_or(false);
    if !admin {
        crate::pg::errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("{what} needs metadata_admin"),
            None,
        );
    }
}
