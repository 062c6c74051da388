//! `metadata.stats` (DESIGN §4 "Change events"): what this backend's caches did and where
//! the change feed stands. The cache figures are this backend's own, since it started, in
//! both modes; the feed's are the database's. In preloaded mode the backlog is every
//! committed change still waiting for the feed worker, and the worker's figures are shown.

use crate::pg::feed::backlog_and_last_notify;
use crate::pg::resolution::memo_stats;
use crate::pg::retention::{bounds, waiting};
use crate::pg::shared::preloaded;
use crate::pg::types::validator_counts;
use crate::pg::worker;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

fn count(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn timestamp(t: Option<pg_sys::TimestampTz>) -> Option<TimestampWithTimeZone> {
    t.and_then(|t| TimestampWithTimeZone::try_from(t).ok())
}

/// One row: the mode (`plain`, or `preloaded` with `shared_preload_libraries`); the memo of
/// effective documents (hits, misses, evictions, entries, bytes and its budget in bytes,
/// `metadata.memo_size`); the validator cache (hits, schema compiles); the feed (head, the
/// lowest seq it is complete from, the backlog: plain, the changes of this backend's open
/// transaction still waiting for their position; preloaded, every change waiting for the
/// feed worker; and when the doorbell last rang: plain, by this backend; preloaded, by the
/// worker); the feed worker's pid (NULL when none runs or in plain mode) and when it last
/// pruned the history. In preloaded mode, a backlog with no worker running starts one.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_restricted)]
pub(crate) fn _stats() -> TableIterator<
    'static,
    (
        name!(mode, String),
        name!(memo_hits, i64),
        name!(memo_misses, i64),
        name!(memo_evictions, i64),
        name!(memo_entries, i64),
        name!(memo_bytes, i64),
        name!(memo_budget_bytes, i64),
        name!(validator_hits, i64),
        name!(validator_compiles, i64),
        name!(feed_head, i64),
        name!(feed_retained_from, i64),
        name!(feed_backlog, i64),
        name!(last_notify_at, Option<TimestampWithTimeZone>),
        name!(feed_worker_pid, Option<i32>),
        name!(last_prune_at, Option<TimestampWithTimeZone>),
    ),
> {
    let (memo, entries, bytes, budget) = memo_stats();
    let (validator_hits, compiles) = validator_counts();
    let (head, pruned) = bounds();
    let (mode, backlog, last_notify, pid, last_prune) = if preloaded() {
        let backlog = waiting();
        let report = worker::report();
        if backlog > 0 && report.as_ref().is_some_and(|r| r.pid.is_none()) {
            worker::wake();
        }
        let (pid, notify, prune) =
            report.map_or((None, None, None), |r| (r.pid, r.last_notify, r.last_prune));
        ("preloaded", backlog, notify, pid, prune)
    } else {
        let (backlog, last_notify) = backlog_and_last_notify();
        ("plain", count(backlog), last_notify, None, None)
    };
    TableIterator::once((
        mode.to_owned(),
        count(memo.hits),
        count(memo.misses),
        count(memo.evictions),
        count(entries),
        count(bytes),
        count(budget),
        count(validator_hits),
        count(compiles),
        head,
        pruned + 1,
        backlog,
        timestamp(last_notify),
        pid,
        timestamp(last_prune),
    ))
}
