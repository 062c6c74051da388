//! Change events over real connections (DESIGN §4 "Change events"): one connection LISTENs
//! while others commit, roll back and bulk-save. Each committed transaction rings the
//! doorbell once, with `{"seq": last, "count": n}` (feed positions only: any role may
//! LISTEN); the changes themselves come from changes_since, exactly the committed ones, in
//! commit order; after a reconnect, changes_since fills the gap. One test function, so that
//! nothing else writes to the database meanwhile.

use metadata_client_tests::{connect, fresh_extension};
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;
use serde_json::Value;
use std::time::Duration;

/// Every doorbell that arrives until the channel has been quiet for 300 ms, as (seq, count).
fn drain(listener: &mut Client) -> Vec<(i64, i64)> {
    let mut rings = Vec::new();
    let mut notifications = listener.notifications();
    let mut iter = notifications.timeout_iter(Duration::from_millis(300));
    while let Some(n) = iter.next().expect("reading notifications") {
        assert_eq!(n.channel(), "metadata_changes");
        let payload: Value = serde_json::from_str(n.payload()).expect("payload is JSON");
        let mut keys: Vec<&str> = payload
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            vec!["count", "seq"],
            "a doorbell carries feed positions only"
        );
        rings.push((
            payload["seq"].as_i64().unwrap(),
            payload["count"].as_i64().unwrap(),
        ));
    }
    rings
}

/// The changes after `seq`, as "op:name:version@seq".
fn changes(client: &mut Client, seq: i64) -> Vec<String> {
    client
        .query(
            "SELECT op, name, version, seq FROM metadata.changes_since($1, 10000)",
            &[&seq],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let (op, name, version, seq): (String, String, i32, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            format!("{op}:{name}:{version}@{seq}")
        })
        .collect()
}

#[test]
fn listeners_see_exactly_the_committed_changes_in_commit_order() {
    let mut writer = connect();
    fresh_extension(&mut writer);
    let mut listener = connect();
    listener.batch_execute("LISTEN metadata_changes").unwrap();

    // A committed save: one doorbell; the change itself is read from the feed.
    writer
        .batch_execute("SELECT metadata.save('object', 'a', '{\"v\": 1}', scope => 'system')")
        .unwrap();
    let rings = drain(&mut listener);
    assert_eq!(rings.len(), 1);
    let (first, count) = rings[0];
    assert_eq!(count, 1);
    assert_eq!(
        changes(&mut listener, first - 1),
        vec![format!("create:a:1@{first}")]
    );
    let row = listener
        .query_one(
            "SELECT scope, checksum FROM metadata.changes_since($1)",
            &[&(first - 1)],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "system");
    assert!(row.get::<_, String>(1).starts_with("sha256:"));

    // A rolled-back transaction rings nothing and takes no position.
    writer
        .batch_execute(
            "BEGIN; SELECT metadata.save('object', 'ghost', '{}', scope => 'system'); ROLLBACK;",
        )
        .unwrap();
    assert!(drain(&mut listener).is_empty());

    // A bulk save in one transaction: one doorbell, consecutive positions, in order.
    writer
        .batch_execute(
            "SELECT metadata.bulk_save('[{\"type\": \"object\", \"name\": \"b\", \"metadata\": {}, \"scope\": \"system\"}, \
                                        {\"type\": \"object\", \"name\": \"c\", \"metadata\": {}, \"scope\": \"system\"}, \
                                        {\"type\": \"object\", \"name\": \"a\", \"metadata\": {\"v\": 2}, \"scope\": \"system\"}]')",
        )
        .unwrap();
    assert_eq!(drain(&mut listener), vec![(first + 3, 3)]);
    assert_eq!(
        changes(&mut listener, first),
        vec![
            format!("create:b:1@{}", first + 1),
            format!("create:c:1@{}", first + 2),
            format!("update:a:2@{}", first + 3)
        ]
    );

    // Two transactions that commit in the other order than they began: commit order wins.
    let mut other = connect();
    writer
        .batch_execute("BEGIN; SELECT metadata.save('object', 'x', '{}', scope => 'system')")
        .unwrap();
    other
        .batch_execute("BEGIN; SELECT metadata.save('object', 'y', '{}', scope => 'system')")
        .unwrap();
    other.batch_execute("COMMIT").unwrap();
    writer.batch_execute("COMMIT").unwrap();
    assert_eq!(drain(&mut listener), vec![(first + 4, 1), (first + 5, 1)]);
    assert_eq!(
        changes(&mut listener, first + 3),
        vec![
            format!("create:y:1@{}", first + 4),
            format!("create:x:1@{}", first + 5)
        ]
    );

    // A large transaction rings once too.
    writer
        .batch_execute(
            "SELECT metadata.bulk_save(jsonb_agg(jsonb_build_object('type', 'object', 'name', 'bulk' || i, \
             'metadata', '{}'::jsonb, 'scope', 'system'))) FROM generate_series(1, 150) AS i",
        )
        .unwrap();
    assert_eq!(drain(&mut listener), vec![(first + 155, 150)]);
    let last_seen = first + 155;
    assert_eq!(changes(&mut listener, first + 5).len(), 150);

    // metadata.notify = off (its value at commit counts): no doorbell, but the feed
    // records. In preloaded mode the feed worker rings, and only its own (the server's)
    // setting counts.
    let preloaded = writer
        .query_one("SELECT mode = 'preloaded' FROM metadata.stats", &[])
        .unwrap()
        .get::<_, bool>(0);
    writer
        .batch_execute(
            "BEGIN; SET LOCAL metadata.notify = off; \
             SELECT metadata.save('object', 'quiet', '{}', scope => 'system'); COMMIT;",
        )
        .unwrap();
    let rung = drain(&mut listener);
    if preloaded {
        assert_eq!(rung, vec![(last_seen + 1, 1)]);
    } else {
        assert!(rung.is_empty());
    }

    // The listener goes away; changes happen; after reconnecting, changes_since returns
    // exactly what it missed.
    drop(listener);
    writer
        .batch_execute(
            "SELECT metadata.save('object', 'a', '{\"v\": 3}', scope => 'system'); \
             SELECT metadata.delete('object', 'b', 'system');",
        )
        .unwrap();
    let mut listener = connect();
    listener.batch_execute("LISTEN metadata_changes").unwrap();
    assert_eq!(
        changes(&mut listener, last_seen),
        vec![
            format!("create:quiet:1@{}", last_seen + 1),
            format!("update:a:3@{}", last_seen + 2),
            format!("delete:b:2@{}", last_seen + 3)
        ]
    );
    let late = drain(&mut listener);
    assert!(late.is_empty(), "{late:?}");
}
