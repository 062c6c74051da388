//! The change feed under concurrent writers and a reader (DESIGN §4 "Change events"): the
//! feed is dense (every position 1..head is a committed change) and a reader that follows
//! `changes_since(last)` while writers commit, roll back and fail never skips a committed
//! change and never sees a position appear below one it has read.

use metadata_client_tests::{connect, fresh_extension};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

const WRITERS: usize = 4;
const TRANSACTIONS: usize = 60;

/// Writer `w`: transactions of one to three saves; every fifth rolls back, every seventh
/// fails at its last statement. Returns the (name, version) of every committed change.
fn write(w: usize) -> Vec<(String, i32)> {
    let mut client = connect();
    let mut committed = Vec::new();
    for t in 0..TRANSACTIONS {
        let mut tx = client.transaction().unwrap();
        let mut changes = Vec::new();
        for k in 0..=(t % 3) {
            let name = format!("w{w}_{k}");
            let row = tx
                .query_one(
                    "SELECT (metadata.save('object', $1, jsonb_build_object('t', $2::int), scope => 'system')).version",
                    &[&name, &(t as i32)],
                )
                .unwrap();
            changes.push((name, row.get::<_, i32>(0)));
        }
        if t % 5 == 4 {
            tx.rollback().unwrap();
        } else if t % 7 == 6 {
            assert!(tx
                .batch_execute(
                    "SELECT metadata.save('object', 'bad name', '{}', scope => 'system')"
                )
                .is_err());
            drop(tx); // rolls back
        } else {
            tx.commit().unwrap();
            committed.extend(changes);
        }
    }
    committed
}

#[test]
fn a_follower_of_the_feed_never_skips_a_committed_change() {
    let mut admin = connect();
    fresh_extension(&mut admin);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut client = connect();
            let mut seen: Vec<(i64, String, i32)> = Vec::new();
            let mut last = 0i64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let rows = client
                    .query(
                        "SELECT seq, name, version FROM metadata.changes_since($1, 1000)",
                        &[&last],
                    )
                    .unwrap();
                for r in &rows {
                    let seq: i64 = r.get(0);
                    assert_eq!(
                        seq,
                        last + 1,
                        "position {seq} after {last}: a gap or a reorder"
                    );
                    last = seq;
                    seen.push((seq, r.get(1), r.get(2)));
                }
                if finished && rows.is_empty() {
                    return seen;
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| thread::spawn(move || write(w)))
        .collect();
    let mut committed: BTreeSet<(String, i32)> = BTreeSet::new();
    for w in writers {
        committed.extend(w.join().unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();

    let read: BTreeSet<(String, i32)> = seen.iter().map(|(_, n, v)| (n.clone(), *v)).collect();
    assert_eq!(read.len(), seen.len(), "each change is read once");
    assert_eq!(
        read, committed,
        "the reader read exactly the committed changes"
    );
    let row = admin
        .query_one(
            "SELECT (SELECT head FROM metadata.sys_metadata_feed), count(seq), max(seq), \
                    count(*) FILTER (WHERE seq IS NULL) FROM metadata.sys_metadata_history",
            &[],
        )
        .unwrap();
    let (head, numbered, max, unnumbered): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (head, numbered, unnumbered),
        (max, max, 0),
        "the feed is dense"
    );
    assert_eq!(seen.len() as i64, head);
    println!(
        "feed: {} committed changes from {WRITERS} writers read in order by a follower, positions 1..{head}, no gap",
        seen.len()
    );
}
