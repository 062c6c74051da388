//! The change feed (DESIGN §4 "Change events"): every committed change of `sys_metadata` has
//! a position `seq` in `sys_metadata_history`, and each committing transaction rings the
//! doorbell `metadata_changes` with the position of its last change.
//!
//! The commit step runs at the very end of the committing transaction (the pre-commit
//! callback, after every deferred trigger), whatever the caller did with `SET CONSTRAINTS`:
//! first the reference checks of the layers written (a strict type's references must name
//! existing items; checked at commit so that a bundle loads in any order), then the feed
//! step:
//!
//! 1. it takes `metadata.sys_metadata_feed` in EXCLUSIVE mode (no role but the extension's
//!    owner can lock that table, so nobody else can stall committing writers);
//! 2. it reads the head of the feed under the latest snapshot (under the lock every earlier
//!    feed step has committed and is visible, also to a REPEATABLE READ transaction whose
//!    own snapshot is older), numbers the transaction's history rows head+1.. in the order
//!    they were written, and moves the head;
//! 3. it notifies `{"seq": last, "count": n}`: a doorbell with feed positions only (any
//!    role may LISTEN, so the payload carries nothing a listener may not see; the changes
//!    are read through `changes_since`, which row level security filters).
//!
//! The lock is held to the end of the commit, so `seq` follows commit order: a reader that
//! has seen position N never sees a smaller one appear later. The head moves in the same
//! transaction as the rows it numbers, so a transaction that fails or crashes before its
//! commit record takes no position: the feed is dense (every position 1..head is a committed
//! change), from 0.2.0 on. The step is one statement over the transaction's rows, so commit
//! time is linear in the number of changes.

use crate::pg::checks::check_references;
use crate::pg::context::setting;
use crate::pg::errors::raise;
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgSqlErrorCode, PgXactCallbackEvent};
use std::cell::{Cell, RefCell};
use std::ffi::CString;

/// A layer by (type, name, tenant, owner).
type LayerRef = (String, String, Option<String>, Option<String>);

thread_local! {
    /// The top-level transaction id for which the commit step is registered.
    static REGISTERED: Cell<pg_sys::TransactionId> = const { Cell::new(pg_sys::InvalidTransactionId) };
    /// Layers whose references are checked at commit.
    static REFERENCES: RefCell<Vec<LayerRef>> = const { RefCell::new(Vec::new()) };
}

/// Registers the commit step for the end of the current transaction (once per
/// transaction): the deferred reference checks, then the feed step. Two-phase commit is
/// refused (SQLSTATE 0A000): a prepared transaction would hold the feed until COMMIT
/// PREPARED.
pub fn register() {
    // SAFETY: reading the current transaction's top-level id has no preconditions.
    let xid = unsafe { pg_sys::GetTopTransactionIdIfAny() };
    if REGISTERED.with(Cell::get) == xid {
        return;
    }
    REGISTERED.with(|r| r.set(xid));
    REFERENCES.with(|r| r.borrow_mut().clear());
    register_xact_callback(PgXactCallbackEvent::PreCommit, || {
        check_pending_references();
        feed_step();
    });
    register_xact_callback(PgXactCallbackEvent::PrePrepare, || {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "a transaction that changes metadata cannot be prepared (PREPARE TRANSACTION)"
                .to_owned(),
            Some(
                "Its changes would hold the change feed of every writer until COMMIT PREPARED."
                    .to_owned(),
            ),
        )
    });
}

/// Notes that the references of a layer written by this transaction are checked at its
/// commit (so that a bundle loads in any order).
pub fn check_references_at_commit(
    type_name: &str,
    name: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
) {
    register();
    let entry = (
        type_name.to_owned(),
        name.to_owned(),
        tenant.map(str::to_owned),
        owner.map(str::to_owned),
    );
    REFERENCES.with(|r| {
        let mut r = r.borrow_mut();
        if !r.contains(&entry) {
            r.push(entry);
        }
    });
}

fn check_pending_references() {
    let pending = REFERENCES.with(|r| std::mem::take(&mut *r.borrow_mut()));
    if pending.is_empty() {
        return;
    }
    // SAFETY: as in feed_step: a snapshot for the checks' queries, popped afterwards.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    for (type_name, name, tenant, owner) in &pending {
        check_references(type_name, name, tenant.as_deref(), owner.as_deref());
    }
    unsafe { pg_sys::PopActiveSnapshot() };
}

/// Registers the commit step (see [`register`]); called by the history trigger for every
/// change it records.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _feed_pending() {
    register();
}

/// The feed step (see the module documentation), as the extension's owner. At pre-commit
/// no snapshot is active any more: the transaction's own is pushed for the statements that
/// read its own rows (the head is read under the latest one).
fn feed_step() {
    // SAFETY: pushed here, popped at the end of this function; on an error the transaction
    // aborts, which drops the active snapshot stack.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    feed_step_as_owner();
    unsafe { pg_sys::PopActiveSnapshot() };
}

fn feed_step_as_owner() {
    // No owner: the extension was dropped in this transaction, its feed with it.
    let Some(owner) = extension_owner() else {
        return;
    };
    as_role(owner, || {
        Spi::connect_mut(|client| {
            let pending = client
                .select(
                    "SELECT pg_catalog.count(*) FROM metadata.sys_metadata_history h \
                     WHERE h.txid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id() AND h.seq IS NULL",
                    None,
                    &[],
                )
                .and_then(|t| t.first().get::<i64>(1))
                .expect("counting the transaction's changes")
                .unwrap_or(0);
            if pending == 0 {
                return;
            }
            client
                .update(
                    "LOCK TABLE metadata.sys_metadata_feed IN EXCLUSIVE MODE",
                    None,
                    &[],
                )
                .expect("locking the change feed");
            let head = match latest_i64("SELECT f.head FROM metadata.sys_metadata_feed f", None) {
                Some(head) => head,
                None => {
                    // The first change of a new database (or of a database restored without
                    // a head): start after the highest position already in the history.
                    let head = latest_i64(
                        "SELECT coalesce(pg_catalog.max(h.seq), 0) FROM metadata.sys_metadata_history h",
                        None,
                    )
                    .unwrap_or(0);
                    latest_i64(
                        "INSERT INTO metadata.sys_metadata_feed (head) VALUES ($1) RETURNING head",
                        Some(head),
                    );
                    head
                }
            };
            let numbered = client
                .update(
                    "UPDATE metadata.sys_metadata_history h SET seq = $1 OPERATOR(pg_catalog.+) p.n \
                     FROM (SELECT u.id, pg_catalog.row_number() OVER (ORDER BY u.id) AS n \
                           FROM metadata.sys_metadata_history u \
                           WHERE u.txid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id() \
                             AND u.seq IS NULL) AS p \
                     WHERE h.id OPERATOR(pg_catalog.=) p.id",
                    None,
                    &[head.into()],
                )
                .expect("numbering the transaction's changes")
                .len() as i64;
            let last = head + numbered;
            latest_i64(
                "UPDATE metadata.sys_metadata_feed SET head = $1 RETURNING head",
                Some(last),
            );
            if setting(c"metadata.notify").as_deref() != Some("off") {
                let payload = format!("{{\"seq\": {last}, \"count\": {numbered}}}");
                client
                    .update(
                        "SELECT pg_catalog.pg_notify('metadata_changes', $1)",
                        None,
                        &[payload.as_str().into()],
                    )
                    .expect("notifying metadata_changes");
            }
        })
    })
}

/// Runs `sql` (with `$1` bound to `arg`, a bigint) under the latest snapshot and returns
/// the bigint in the first column of its first row. Must run inside an SPI connection.
fn latest_i64(sql: &str, arg: Option<i64>) -> Option<i64> {
    let text = CString::new(sql).expect("no NUL in a constant query");
    let mut types = [pg_sys::INT8OID];
    let mut values = [pg_sys::Datum::from(arg.unwrap_or(0))];
    let nargs = i32::from(arg.is_some());
    // SAFETY: SPI is connected by the caller; the plan, snapshot and tuple table are used
    // while valid, and the datum read is a by-value bigint.
    unsafe {
        let plan = pg_sys::SPI_prepare(text.as_ptr(), nargs, types.as_mut_ptr());
        if plan.is_null() {
            panic!("preparing a feed statement failed");
        }
        let read_only = sql.starts_with("SELECT");
        let code = pg_sys::SPI_execute_snapshot(
            plan,
            values.as_mut_ptr(),
            std::ptr::null(),
            pg_sys::GetLatestSnapshot(),
            std::ptr::null_mut(),
            read_only,
            false,
            0,
        );
        pg_sys::SPI_freeplan(plan);
        if code < 0 {
            panic!("a feed statement failed ({code})");
        }
        let table = pg_sys::SPI_tuptable;
        if pg_sys::SPI_processed == 0 || table.is_null() {
            return None;
        }
        let mut is_null = false;
        let datum = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut is_null);
        (!is_null).then(|| datum.value() as i64)
    }
}

/// The role that owns the extension (the feed is written by the extension, not by the
/// caller); `None` when the extension is not installed (dropped in this transaction).
fn extension_owner() -> Option<pg_sys::Oid> {
    Spi::connect(|client| {
        let rows = client
            .select(
                "SELECT e.extowner FROM pg_catalog.pg_extension e \
                 WHERE e.extname OPERATOR(pg_catalog.=) 'metadata'",
                None,
                &[],
            )
            .expect("reading the extension's owner");
        if rows.is_empty() {
            return None;
        }
        rows.first()
            .get::<pg_sys::Oid>(1)
            .expect("the extension's owner")
    })
}

/// Runs `f` as `role`, then returns to the caller's role.
fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
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
