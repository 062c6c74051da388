//! The change buckets' two sides (preloaded mode; the rule is [`crate::core::shortcut`]):
//! a writing transaction notes the buckets of the rows it changed and moves their
//! counters around its commit; a reader asks whether a remembered answer may be served.
//! Without preloading every call here does nothing, and readers always read the table.

use crate::core::shortcut::{bucket_of, buckets_of, may_serve, BucketState};
use crate::pg::shared::buckets;
use pgrx::pg_sys;
use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;

thread_local! {
    /// The buckets the open transaction changed rows of (empty when it changed none).
    static TOUCHED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Whether the pre-commit step counted this transaction in flight.
    static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
}

/// Notes that the open transaction changed a row of `type_name` in `tenant` (None: a global
/// row). Called by the history trigger for the row before and after the change.
pub fn touched(tenant: Option<&str>, type_name: &str) {
    let all = buckets();
    if all.is_empty() {
        return;
    }
    // The commit step moves the counters: registered once per transaction (which first
    // forgets an earlier transaction's buckets).
    crate::pg::feed::register();
    // SAFETY: the current database's OID.
    let database = u32::from(unsafe { pg_sys::MyDatabaseId });
    let bucket = bucket_of(database, tenant, type_name, all.len());
    TOUCHED.with(|t| {
        let mut t = t.borrow_mut();
        if !t.contains(&bucket) {
            t.push(bucket);
        }
    });
}

/// Forgets the buckets of an earlier transaction (the commit step's registration).
pub fn begin() {
    TOUCHED.with(|t| t.borrow_mut().clear());
    IN_FLIGHT.with(|f| f.set(false));
}

/// Whether the open transaction changed rows (then its readers read the table: its own
/// changes are visible only to it).
pub fn wrote() -> bool {
    TOUCHED.with(|t| !t.borrow().is_empty())
}

/// Pre-commit (the last thing before the commit can become visible): the transaction's
/// buckets count it in flight.
pub fn pre_commit() {
    let all = buckets();
    TOUCHED.with(|t| {
        for &b in t.borrow().iter() {
            all[b].in_flight.fetch_add(1, Ordering::SeqCst);
        }
    });
    IN_FLIGHT.with(|f| f.set(!all.is_empty()));
}

/// After the commit is visible: each bucket's last commit moves to the completion count
/// now (at least this transaction's own), then the transaction leaves flight. Returns that
/// count. Never raises an error (it runs after the commit).
pub fn post_commit() -> u64 {
    // SAFETY: the shared transaction counters exist in every backend; the count is read
    // after this transaction's own completion, which this process wrote.
    let count = unsafe { (*pg_sys::ShmemVariableCache).xactCompletionCount };
    leave(Some(count));
    count
}

/// After an abort: a transaction counted in flight leaves it (its changes never became
/// visible, so no last commit moves).
pub fn post_abort() {
    leave(None);
}

fn leave(count: Option<u64>) {
    let all = buckets();
    let counted = IN_FLIGHT.with(|f| f.replace(false));
    let touched = TOUCHED.with(|t| std::mem::take(&mut *t.borrow_mut()));
    if !counted {
        return;
    }
    for b in touched {
        if let Some(count) = count {
            all[b].last_commit.fetch_max(count, Ordering::SeqCst);
        }
        all[b].in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a reader needs to remember an answer or to check one: the buckets the answer
/// depends on and the completion count of the snapshot it is computed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub buckets: Vec<usize>,
    pub count: u64,
}

/// The stamp of an answer for a caller in `tenant` about `type_name`, computed now under the
/// active snapshot; None when answers may not be remembered or served: without preloading,
/// during recovery (a standby's buckets never move: replay commits nothing here), while the
/// transaction has written metadata, or when the active snapshot's count is not known
/// ([`active_snapshot_count`]).
pub fn stamp(tenant: Option<&str>, type_name: &str) -> Option<Stamp> {
    let all = buckets();
    if all.is_empty() || wrote() {
        return None;
    }
    // SAFETY: reading the recovery state and the database.
    unsafe {
        if pg_sys::RecoveryInProgress() {
            return None;
        }
    }
    let count = active_snapshot_count()?;
    // SAFETY: as above.
    let database = u32::from(unsafe { pg_sys::MyDatabaseId });
    Some(Stamp {
        buckets: buckets_of(database, tenant, type_name, all.len()),
        count,
    })
}

thread_local! {
    /// A snapshot of this backend's own, taken again at each check (Postgres reuses it
    /// without a scan of the process array while no transaction completed).
    static FRESH: RefCell<Box<pg_sys::SnapshotData>> = RefCell::new(Box::default());
}

/// The completion count of the active snapshot: Postgres stamps the snapshots it takes, but
/// not their copies (the active snapshot is one), so a fresh snapshot is taken and its
/// count used when it sees exactly what the active one sees (same xmin, xmax and in-progress
/// transactions); None otherwise (a transaction completed since the statement began, or
/// the active snapshot is older: REPEATABLE READ, a cursor), or without an active MVCC
/// snapshot.
fn active_snapshot_count() -> Option<u64> {
    // SAFETY: the active snapshot stays valid during the call; the fresh one is this
    // backend's own (GetSnapshotData allocates its arrays once, as for Postgres' static
    // snapshots); only their xid arrays' first xcnt/subxcnt entries are read.
    unsafe {
        if !pg_sys::ActiveSnapshotSet() {
            return None;
        }
        let active = &*pg_sys::GetActiveSnapshot();
        if active.snapshot_type != pg_sys::SnapshotType::SNAPSHOT_MVCC || active.takenDuringRecovery
        {
            return None;
        }
        FRESH.with(|fresh| {
            let mut fresh = fresh.borrow_mut();
            let fresh: &mut pg_sys::SnapshotData = &mut fresh;
            pg_sys::GetSnapshotData(fresh);
            let xids = |p: *mut pg_sys::TransactionId, n: usize| -> &[pg_sys::TransactionId] {
                if n == 0 || p.is_null() {
                    &[]
                } else {
                    std::slice::from_raw_parts(p, n)
                }
            };
            let same = active.xmin == fresh.xmin
                && active.xmax == fresh.xmax
                && active.xcnt == fresh.xcnt
                && active.subxcnt == fresh.subxcnt
                && active.suboverflowed == fresh.suboverflowed
                && same_set(
                    xids(active.xip, active.xcnt as usize),
                    xids(fresh.xip, fresh.xcnt as usize),
                )
                && (active.suboverflowed
                    || same_set(
                        xids(active.subxip, active.subxcnt.max(0) as usize),
                        xids(fresh.subxip, fresh.subxcnt.max(0) as usize),
                    ));
            (same && fresh.snapXactCompletionCount != 0).then_some(fresh.snapXactCompletionCount)
        })
    }
}

/// Whether two lists of transaction ids hold the same ids (usually in the same order).
fn same_set(a: &[pg_sys::TransactionId], b: &[pg_sys::TransactionId]) -> bool {
    if a == b {
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable_by_key(|x| u32::from(*x));
    b.sort_unstable_by_key(|x| u32::from(*x));
    a == b
}

/// Whether an answer remembered with stamp `answer` may be served to the caller whose stamp
/// is `now` (same buckets: the same tenant and type).
pub fn may_serve_now(answer: &Stamp, now: &Stamp) -> bool {
    let all = buckets();
    may_serve(
        answer.count,
        now.count,
        answer.buckets.iter().map(|&b| BucketState {
            in_flight: all[b].in_flight.load(Ordering::SeqCst),
            last_commit: all[b].last_commit.load(Ordering::SeqCst),
        }),
    )
}
