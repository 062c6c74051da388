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
//!    they were written (each with `sequenced_at`, the wall clock now: what history
//!    retention measures age by), and moves the head;
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
use crate::pg::counters;
use crate::pg::errors::raise;
use crate::pg::owner::as_extension_owner;
use crate::pg::shared::preloaded;
use crate::pg::statements::{run, TEXT};
use pgrx::prelude::*;
use pgrx::{register_xact_callback, IntoDatum, PgSqlErrorCode, PgXactCallbackEvent};
use std::cell::{Cell, RefCell};
use std::ffi::CString;

/// A layer by (type, name, tenant, owner).
type LayerRef = (String, String, Option<String>, Option<String>);

thread_local! {
    /// The local transaction number for which the commit step is registered (0: none).
    static REGISTERED: Cell<pg_sys::LocalTransactionId> = const { Cell::new(0) };
    /// Layers whose references are checked at commit.
    static REFERENCES: RefCell<Vec<LayerRef>> = const { RefCell::new(Vec::new()) };
    /// The history rows this transaction wrote, in order (those of subtransactions rolled
    /// back included: the feed step does not see them).
    static CHANGES: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
    /// When this backend last rang the doorbell (Postgres timestamp), for `metadata.stats`.
    static LAST_NOTIFY: Cell<Option<pg_sys::TimestampTz>> = const { Cell::new(None) };
}

/// The changes of this backend's open transaction waiting for their feed position (they
/// get it at its commit), and when this backend last notified, for `metadata.stats`.
pub fn backlog_and_last_notify() -> (usize, Option<pg_sys::TimestampTz>) {
    (
        CHANGES.with(|c| c.borrow().len()),
        LAST_NOTIFY.with(Cell::get),
    )
}

/// Registers the commit step for the end of the current transaction (once per
/// transaction): the deferred reference checks, then the feed step. Two-phase commit is
/// refused (SQLSTATE 0A000): a prepared transaction would hold the feed until COMMIT
/// PREPARED.
pub fn register() {
    // The backend's local transaction number: a transaction has it from its start (its
    // transaction id only from its first write, so it would change under a trigger that
    // registers before the row is written, and the steps would be registered twice).
    // SAFETY: this backend's PGPROC, which exists while it runs a transaction.
    let lxid = unsafe { (*pg_sys::MyProc).lxid };
    if REGISTERED.with(Cell::get) == lxid {
        return;
    }
    REGISTERED.with(|r| r.set(lxid));
    REFERENCES.with(|r| r.borrow_mut().clear());
    CHANGES.with(|c| c.borrow_mut().clear());
    counters::begin();
    register_xact_callback(PgXactCallbackEvent::PreCommit, || {
        check_pending_references();
        if !preloaded() {
            feed_step();
        }
        counters::pre_commit();
    });
    register_xact_callback(PgXactCallbackEvent::Commit, || {
        let completed = counters::post_commit();
        // Preloaded mode: the changes wait for the feed worker, woken here (the feed step
        // above took them in plain mode); with metadata.feed_sync the commit waits for it.
        let changed = CHANGES.with(|c| !std::mem::take(&mut *c.borrow_mut()).is_empty());
        if changed && preloaded() {
            crate::pg::worker::wake();
            if crate::pg::worker::FEED_SYNC.get() {
                crate::pg::worker::wait_numbered(
                    completed,
                    std::time::Duration::from_secs(5),
                    false,
                );
            }
        }
    });
    register_xact_callback(PgXactCallbackEvent::Abort, counters::post_abort);
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
    check_references_of(&pending);
}

/// Runs now the reference checks that this transaction's commit would run (they stay
/// pending for the commit too): `metadata.import` reports a broken reference per item,
/// also in a dry run, which never commits. Errors: 23503 as at commit.
#[pg_extern(volatile)]
fn _check_references_now() {
    let pending = REFERENCES.with(|r| r.borrow().clone());
    check_references_of(&pending);
}

fn check_references_of(pending: &[LayerRef]) {
    if pending.is_empty() {
        return;
    }
    // SAFETY: as in feed_step: a snapshot for the checks' queries, popped afterwards.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    for (type_name, name, tenant, owner) in pending {
        check_references(type_name, name, tenant.as_deref(), owner.as_deref());
    }
    unsafe { pg_sys::PopActiveSnapshot() };
}

/// Notes the history row `id` written by this transaction: the feed step numbers it.
pub fn changed(id: i64) {
    register();
    CHANGES.with(|c| c.borrow_mut().push(id));
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
    as_extension_owner(|| {
        Spi::connect_mut(|client| {
            let changes = CHANGES.with(|c| std::mem::take(&mut *c.borrow_mut()));
            if changes.is_empty() {
                return;
            }
            run(
                client,
                "feed/lock",
                || "LOCK TABLE metadata.sys_metadata_feed IN EXCLUSIVE MODE".to_owned(),
                &[],
                &[],
                |_| (),
            );
            let (last, numbered) = number_changes(changes);
            if numbered > 0 && setting(c"metadata.notify").as_deref() != Some("off") {
                let payload = format!("{{\"seq\": {last}, \"count\": {numbered}}}");
                run(
                    client,
                    "feed/notify",
                    || "SELECT pg_catalog.pg_notify('metadata_changes', $1)".to_owned(),
                    &[TEXT],
                    &[payload.as_str().into()],
                    |_| (),
                );
                // SAFETY: reading the clock has no preconditions.
                LAST_NOTIFY.with(|t| t.set(Some(unsafe { pg_sys::GetCurrentTimestamp() })));
            }
        })
    });
}

/// Numbers the transaction's changes (the history rows `changes`, those of rolled back
/// subtransactions left out: they are not visible) after the head of the feed, in the order
/// they were written, and moves the head, in one statement under the latest snapshot (the
/// feed lock is held: every earlier feed step has committed and is visible). The first
/// change of a database without a head starts after the highest position in the history.
/// Returns (the new head, the number of changes numbered).
fn number_changes(changes: Vec<i64>) -> (i64, i64) {
    thread_local! {
        static PLAN: std::cell::Cell<pg_sys::SPIPlanPtr> = const { std::cell::Cell::new(std::ptr::null_mut()) };
    }
    const SQL: &str = "WITH head AS ( \
           SELECT coalesce((SELECT f.head FROM metadata.sys_metadata_feed f), \
                           (SELECT pg_catalog.max(h.seq) FROM metadata.sys_metadata_history h), 0) AS n), \
         numbered AS ( \
           UPDATE metadata.sys_metadata_history h SET seq = (SELECT n FROM head) OPERATOR(pg_catalog.+) p.n, \
               sequenced_at = pg_catalog.clock_timestamp() \
           FROM (SELECT u.id, pg_catalog.row_number() OVER (ORDER BY u.id) AS n \
                 FROM pg_catalog.unnest($1) AS c(id) \
                 JOIN metadata.sys_metadata_history u ON u.id OPERATOR(pg_catalog.=) c.id \
                 WHERE u.seq IS NULL) AS p \
           WHERE h.id OPERATOR(pg_catalog.=) p.id RETURNING h.seq), \
         moved AS ( \
           INSERT INTO metadata.sys_metadata_feed AS f (head) \
           SELECT pg_catalog.max(seq) FROM numbered HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 \
           ON CONFLICT (id) DO UPDATE SET head = EXCLUDED.head RETURNING f.head) \
         SELECT (SELECT head FROM moved), (SELECT pg_catalog.count(*) FROM numbered)";
    // SAFETY: SPI is connected by the caller; the plan is prepared once and kept for the
    // backend (SPI_keepplan; the plan cache revalidates it), the snapshot and the tuple
    // table are used while valid, and both columns are by-value bigints.
    unsafe {
        let mut plan = PLAN.with(std::cell::Cell::get);
        if plan.is_null() {
            let text = CString::new(SQL).expect("no NUL in a constant query");
            let mut types = [pg_sys::INT8ARRAYOID];
            // Always the generic plan (the custom plans the plan cache would otherwise try
            // cost a planning per commit).
            plan = pg_sys::SPI_prepare_cursor(
                text.as_ptr(),
                1,
                types.as_mut_ptr(),
                pg_sys::CURSOR_OPT_GENERIC_PLAN as i32,
            );
            if plan.is_null() || pg_sys::SPI_keepplan(plan) != 0 {
                panic!("preparing the feed step failed");
            }
            PLAN.with(|p| p.set(plan));
        }
        let mut values = [changes.into_datum().expect("an array")];
        let code = with_index_plans(|| {
            pg_sys::SPI_execute_snapshot(
                plan,
                values.as_mut_ptr(),
                std::ptr::null(),
                pg_sys::GetLatestSnapshot(),
                std::ptr::null_mut(),
                false,
                true,
                0,
            )
        });
        if code < 0 {
            panic!("the feed step failed ({code})");
        }
        let table = pg_sys::SPI_tuptable;
        let mut is_null = false;
        let head = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut is_null);
        let head = if is_null { 0 } else { head.value() as i64 };
        let count = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 2, &mut is_null);
        (head, if is_null { 0 } else { count.value() as i64 })
    }
}

/// Runs `f` with sequential scans, hash joins and merge joins off, and so JIT compilation
/// too (the costs of disabled plans would trigger it), at a GUC nest level of its own, as a
/// function's SET clause does. The feed step's statement is planned once per
/// backend and kept; planned while the history is small (a new database), the planner
/// would choose scans of the whole history, which the kept plan would then repeat as the
/// history grows. With these off its plan finds the transaction's rows by primary key,
/// whatever the size of the history when it is planned.
fn with_index_plans<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: the settings are restored by AtEOXact_GUC at the level opened here, or by the
    // transaction's abort when f raises an error.
    unsafe {
        let level = pg_sys::NewGUCNestLevel();
        for name in [
            c"enable_seqscan",
            c"enable_hashjoin",
            c"enable_mergejoin",
            c"jit",
        ] {
            pg_sys::set_config_option(
                name.as_ptr(),
                c"off".as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        let result = f();
        pg_sys::AtEOXact_GUC(true, level);
        result
    }
}
