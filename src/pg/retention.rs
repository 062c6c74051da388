//! History retention and the feed's bounds (DESIGN §4 "Change events"; ObjectStack 17.4's
//! `MetadataHistoryRetentionPolicy`): `prune_history` removes old history rows of every
//! tenant, and `feed_bounds` tells a client from which position the feed is complete. Both
//! run as the extension's owner: the feed table is the extension's alone, and the history
//! is append-only for every role (its trigger refuses deletes; retention is the one
//! exception, made here with that trigger off for the one statement).
//!
//! Age is measured by `sequenced_at`, the time the feed step numbered the change at its
//! commit, against the wall clock (`clock_timestamp()`), never by `changed_at` or `now()`:
//! both are the start of a transaction, so a change committed a moment ago by a long
//! transaction would look old and could vanish before a follower read it.

use crate::pg::errors::raise;
use crate::pg::owner::{as_extension_owner, require_admin};
use crate::pg::statements::{query, run, FLOAT8, INT4, INT8};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The changes without a feed position (preloaded mode: committed ones wait for the feed
/// worker; the caller's own transaction's too), counted as the extension's owner through
/// the index of unnumbered rows.
pub fn waiting() -> i64 {
    as_extension_owner(|| {
        Spi::connect(|client| {
            query(
                client,
                "stats/waiting",
                || {
                    "SELECT pg_catalog.count(*) FROM metadata.sys_metadata_history h WHERE h.seq IS NULL"
                        .to_owned()
                },
                &[],
                &[],
                |rows| rows.first().get::<i64>(1).ok().flatten().unwrap_or(0),
            )
        })
    })
    .unwrap_or(0)
}

/// The head of the feed and the highest seq retention removed, read as the extension's
/// owner (0 and 0 before the first change, or without the extension).
pub fn bounds() -> (i64, i64) {
    as_extension_owner(|| {
        Spi::connect(|client| {
            query(
                client,
                "retention/bounds",
                || {
                    "SELECT coalesce((SELECT f.head FROM metadata.sys_metadata_feed f), 0), \
                            coalesce((SELECT f.pruned_through FROM metadata.sys_metadata_feed f), 0)"
                        .to_owned()
                },
                &[],
                &[],
                |rows| {
                    let row = rows.first();
                    (
                        row.get::<i64>(1).ok().flatten().unwrap_or(0),
                        row.get::<i64>(2).ok().flatten().unwrap_or(0),
                    )
                },
            )
        })
    })
    .unwrap_or((0, 0))
}

/// `feed_bounds()` (sql/history.sql): the feed's head and the lowest seq from which it is
/// complete (the highest pruned seq + 1).
#[pg_extern(stable, parallel_safe)]
pub(crate) fn _feed_bounds() -> TableIterator<'static, (name!(head, i64), name!(retained_from, i64))>
{
    let (head, pruned) = bounds();
    TableIterator::once((head, pruned + 1))
}

/// `prune_history(max_versions, max_age)` (sql/history.sql), `max_age` in seconds: removes
/// the history rows beyond each row's `max_versions` newest and those numbered more than
/// `max_age` ago, never a row's current version or an unnumbered change, under the feed
/// lock (so no commit numbers changes meanwhile), and records the highest seq removed.
/// Returns how many were removed. Errors: 42501 unless metadata_admin, 22023.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _prune_history(max_versions: Option<i32>, max_age_seconds: Option<f64>) -> i64 {
    require_admin("prune_history");
    let invalid = |message: &str| -> ! {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            message.to_owned(),
            None,
        )
    };
    if max_versions.is_none() && max_age_seconds.is_none() {
        invalid("prune_history needs max_versions or max_age");
    }
    if max_versions.is_some_and(|v| v < 1) {
        invalid("max_versions must be 1 or more (a row's current version is always kept)");
    }
    if max_age_seconds.is_some_and(|a| !a.is_finite() || a < 0.0) {
        invalid("max_age must be a finite interval of 0 or more");
    }
    as_extension_owner(|| {
        Spi::connect_mut(|client| {
            run(
                client,
                "retention/lock",
                || "LOCK TABLE metadata.sys_metadata_feed IN EXCLUSIVE MODE".to_owned(),
                &[],
                &[],
                |_| (),
            );
            // The append-only trigger is off for this statement only (replica role: the
            // extension's owner is a superuser; set back right after, also on error by
            // the transaction's end).
            run(
                client,
                "retention/replica",
                || {
                    "SELECT pg_catalog.set_config('session_replication_role', 'replica', true)"
                        .to_owned()
                },
                &[],
                &[],
                |_| (),
            );
            let (removed, highest) = run(
                client,
                "retention/prune",
                || {
                    "WITH ranked AS ( \
                       SELECT h.id, h.item_id, h.version, h.seq, h.sequenced_at, \
                              pg_catalog.row_number() OVER (PARTITION BY h.item_id ORDER BY h.version DESC) AS newest \
                       FROM metadata.sys_metadata_history h WHERE h.seq IS NOT NULL), \
                     gone AS ( \
                       DELETE FROM metadata.sys_metadata_history h USING ranked r \
                       WHERE h.id OPERATOR(pg_catalog.=) r.id \
                         AND NOT EXISTS (SELECT FROM metadata.sys_metadata m \
                                         WHERE m.id OPERATOR(pg_catalog.=) r.item_id \
                                           AND m.version OPERATOR(pg_catalog.=) r.version) \
                         AND ((r.newest OPERATOR(pg_catalog.>) $1) \
                              OR r.sequenced_at OPERATOR(pg_catalog.<) (pg_catalog.clock_timestamp() \
                                 OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $2))) \
                       RETURNING h.seq) \
                     SELECT pg_catalog.count(*), pg_catalog.max(seq) FROM gone"
                        .to_owned()
                },
                &[INT4, FLOAT8],
                &[max_versions.into(), max_age_seconds.into()],
                |rows| {
                    let row = rows.first();
                    (
                        row.get::<i64>(1).ok().flatten().unwrap_or(0),
                        row.get::<i64>(2).ok().flatten(),
                    )
                },
            );
            run(
                client,
                "retention/origin",
                || {
                    "SELECT pg_catalog.set_config('session_replication_role', 'origin', true)"
                        .to_owned()
                },
                &[],
                &[],
                |_| (),
            );
            if let Some(highest) = highest {
                run(
                    client,
                    "retention/record",
                    || {
                        "INSERT INTO metadata.sys_metadata_feed AS f (head, pruned_through) \
                         SELECT GREATEST((SELECT pg_catalog.max(h.seq) FROM metadata.sys_metadata_history h), $1), $1 \
                         ON CONFLICT (id) DO UPDATE \
                           SET pruned_through = GREATEST(f.pruned_through, EXCLUDED.pruned_through)"
                            .to_owned()
                    },
                    &[INT8],
                    &[highest.into()],
                    |_| (),
                );
            }
            removed
        })
    })
    .unwrap_or(0)
}

/// `wait_for_feed(timeout)` (sql/history.sql), `timeout_seconds` in seconds: waits until
/// every change committed before the call has its feed position, then returns the feed's
/// head (read under the caller's snapshot); NULL when the timeout passed first. Plain mode
/// numbers changes at commit, so it returns at once; preloaded mode waits for a step of the
/// feed worker (woken here). Errors: 22023 (a negative or infinite timeout).
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _wait_for_feed(timeout_seconds: Option<f64>) -> Option<i64> {
    let timeout = timeout_seconds.unwrap_or(5.0);
    if !timeout.is_finite() || timeout < 0.0 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "timeout must be a finite interval of 0 or more".to_owned(),
            None,
        );
    }
    let own = crate::pg::feed::backlog_and_last_notify().0 > 0;
    if crate::pg::shared::preloaded() && (own || waiting() > 0) {
        // SAFETY: the shared count of completed transactions.
        let completed = unsafe { (*pg_sys::ShmemVariableCache).xactCompletionCount };
        let timeout = std::time::Duration::from_secs_f64(timeout.min(1e6));
        if !crate::pg::worker::wait_numbered(completed, timeout, true) {
            return None;
        }
    }
    Some(bounds().0)
}
