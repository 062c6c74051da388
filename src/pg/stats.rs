//! `metadata.stats` (DESIGN §4 "Change events"): what this backend's caches did and where
//! the change feed stands. Without preloading (`shared_preload_libraries`) every figure of
//! the caches is this backend's own, since it started; the feed's are the database's.

use crate::pg::feed::backlog_and_last_notify;
use crate::pg::resolution::memo_stats;
use crate::pg::retention::bounds;
use crate::pg::types::validator_counts;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

fn count(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// One row: the mode (`plain` without preloading); the memo of effective documents (hits,
/// misses, evictions, entries, bytes and its budget in bytes, `metadata.memo_size`); the
/// validator cache (hits, schema compiles); the feed (head, the lowest seq it is complete
/// from, the changes of this backend's open transaction still waiting for a position, and
/// when this backend last rang the doorbell).
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
    ),
> {
    let (memo, entries, bytes, budget) = memo_stats();
    let (validator_hits, compiles) = validator_counts();
    let (head, pruned) = bounds();
    let (backlog, last_notify) = backlog_and_last_notify();
    TableIterator::once((
        "plain".to_owned(),
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
        count(backlog),
        last_notify.and_then(|t| TimestampWithTimeZone::try_from(t).ok()),
    ))
}
