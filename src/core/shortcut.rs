//! When a remembered answer of `effective`, `effective_all` or `explain` may be served
//! without reading the table (preloaded mode, DESIGN §3 "Preloaded mode").
//!
//! The rows an answer depends on fall into change buckets: one per (database, tenant, type),
//! where the global rows (`tenant_id IS NULL`) of a type have their own bucket. Every
//! bucket has two shared counters that committing writers move:
//!
//! - `in_flight`: writers of the bucket between their pre-commit step (before their commit
//!   can be visible) and their post-commit step (after it is);
//! - `last_commit`: the highest *completion count* any writer of the bucket read after its
//!   commit was visible. Postgres counts every completed transaction
//!   (`xactCompletionCount`) and stamps each snapshot with the count it saw
//!   (`snapXactCompletionCount`): a snapshot with count `n` sees exactly the transactions
//!   completed by the time the count was `n`.
//!
//! An answer computed under a snapshot of count `a` is served to a caller whose snapshot has
//! count `s` when `s >= a` (the caller sees at least what the answer saw) and, in every
//! bucket the answer depends on, no writer is in flight and `last_commit <= a` (every writer
//! of the bucket had completed by the time the answer's snapshot was taken, so the caller
//! sees the same rows). A writer that became visible after `a` is either still in flight
//! or has moved `last_commit` above `a`, read in that order: either way the answer is not
//! served. This does not depend on when the answer's buckets were read, so a statement's
//! snapshot taken before the call, a REPEATABLE READ snapshot or a cursor's are all handled
//! by the same comparison (an older snapshot fails `s >= a`).

/// The shared counters of one bucket as read now (`in_flight` first, then `last_commit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BucketState {
    pub in_flight: u64,
    pub last_commit: u64,
}

/// Whether an answer computed under a snapshot of completion count `answer_count` may be
/// served to a caller whose snapshot has completion count `snapshot_count`, given the
/// states of the buckets it depends on. A count of 0 is unknown: never served.
pub fn may_serve(
    answer_count: u64,
    snapshot_count: u64,
    buckets: impl IntoIterator<Item = BucketState>,
) -> bool {
    answer_count != 0
        && snapshot_count >= answer_count
        && buckets
            .into_iter()
            .all(|b| b.in_flight == 0 && b.last_commit <= answer_count)
}

/// The bucket of the rows of `type_name` in `tenant` (`None`: the global rows) of database
/// `database`, among `buckets` (FNV-1a, 64-bit; the fields are separated, so no two
/// different keys share their bytes). Two keys may share a bucket: their writers then
/// only cost each other remembered answers, never correctness.
pub fn bucket_of(database: u32, tenant: Option<&str>, type_name: &str, buckets: usize) -> usize {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    feed(&database.to_le_bytes());
    match tenant {
        None => feed(&[0]),
        Some(tenant) => {
            feed(&[1]);
            feed(tenant.as_bytes());
            feed(&[0]);
        }
    }
    feed(type_name.as_bytes());
    (hash % buckets.max(1) as u64) as usize
}

/// The buckets an answer for a caller in `tenant` depends on: the type's global rows, and
/// the tenant's rows when there is a tenant (a caller without one reads only global rows).
pub fn buckets_of(
    database: u32,
    tenant: Option<&str>,
    type_name: &str,
    buckets: usize,
) -> Vec<usize> {
    let mut out = vec![bucket_of(database, None, type_name, buckets)];
    if tenant.is_some() {
        let own = bucket_of(database, tenant, type_name, buckets);
        if !out.contains(&own) {
            out.push(own);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: BucketState = BucketState {
        in_flight: 0,
        last_commit: 10,
    };

    #[test]
    fn an_answer_is_served_only_to_a_snapshot_at_least_as_new() {
        assert!(may_serve(10, 10, [QUIET]));
        assert!(
            may_serve(10, 25, [QUIET]),
            "later unrelated commits do not matter"
        );
        assert!(
            !may_serve(10, 9, [QUIET]),
            "an older snapshot (REPEATABLE READ, a cursor) reads the table"
        );
        assert!(
            !may_serve(0, 25, [QUIET]),
            "an unknown count is never trusted"
        );
    }

    #[test]
    fn a_writer_in_flight_or_completed_after_the_answer_prevents_serving() {
        let in_flight = BucketState {
            in_flight: 1,
            last_commit: 3,
        };
        assert!(!may_serve(10, 12, [QUIET, in_flight]));
        let later = BucketState {
            in_flight: 0,
            last_commit: 11,
        };
        assert!(!may_serve(10, 12, [later]));
        assert!(
            may_serve(11, 12, [later]),
            "an answer computed after that writer is served"
        );
        assert!(may_serve(10, 12, []), "an answer that depends on no bucket");
    }

    #[test]
    fn buckets_separate_tenants_types_and_the_global_rows() {
        let n = 1 << 16;
        let global = bucket_of(1, None, "object", n);
        assert_eq!(global, bucket_of(1, None, "object", n), "stable");
        assert_ne!(global, bucket_of(1, Some("acme"), "object", n));
        assert_ne!(
            bucket_of(1, Some("acme"), "object", n),
            bucket_of(1, Some("acme"), "view", n)
        );
        assert_ne!(
            bucket_of(1, Some("ab"), "c", n),
            bucket_of(1, Some("a"), "bc", n),
            "fields are separated"
        );
        assert_ne!(
            global,
            bucket_of(2, None, "object", n),
            "databases are separated"
        );
        assert!(bucket_of(7, Some("t"), "x", 3) < 3);
        assert_eq!(
            bucket_of(7, Some("t"), "x", 0),
            0,
            "no buckets: everything in one"
        );
        assert_eq!(buckets_of(1, None, "object", n), vec![global]);
        assert_eq!(
            buckets_of(1, Some("acme"), "object", n),
            vec![global, bucket_of(1, Some("acme"), "object", n)]
        );
        assert_eq!(
            buckets_of(1, Some("acme"), "object", 1),
            vec![0],
            "one bucket counted once"
        );
    }
}
