//! Change events over real connections (DESIGN §4 "Change events"): one connection LISTENs
//! while others commit, roll back and bulk-save; exactly the committed changes arrive, in
//! commit order; after a reconnect, changes_since fills the gap. One test function, so that
//! nothing else writes to the database meanwhile.

use metadata_client_tests::{connect, fresh_extension};
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;
use serde_json::Value;
use std::time::Duration;

/// Every notification that arrives until the channel has been quiet for 300 ms.
fn drain(listener: &mut Client) -> Vec<Value> {
    let mut events = Vec::new();
    let mut notifications = listener.notifications();
    let mut iter = notifications.timeout_iter(Duration::from_millis(300));
    while let Some(n) = iter.next().expect("reading notifications") {
        assert_eq!(n.channel(), "metadata_changes");
        assert!(n.payload().len() < 8000, "payload under the NOTIFY limit");
        events.push(serde_json::from_str(n.payload()).expect("payload is JSON"));
    }
    events
}

fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}",
                e["op"].as_str().unwrap(),
                e["name"].as_str().unwrap(),
                e["version"]
            )
        })
        .collect()
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

#[test]
fn listeners_see_exactly_the_committed_changes_in_commit_order() {
    let mut writer = connect();
    fresh_extension(&mut writer);
    let mut listener = connect();
    listener.batch_execute("LISTEN metadata_changes").unwrap();

    // A committed save: one event with the documented payload.
    writer
        .batch_execute("SELECT metadata.save('object', 'a', '{\"v\": 1}', scope => 'system')")
        .unwrap();
    let events = drain(&mut listener);
    assert_eq!(names(&events), vec!["create:a:1"]);
    let e = &events[0];
    let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "checksum",
            "name",
            "op",
            "owner",
            "scope",
            "seq",
            "tenant_id",
            "type",
            "version"
        ]
    );
    assert_eq!(e["scope"], "system");
    assert!(e["checksum"].as_str().unwrap().starts_with("sha256:"));
    let first = e["seq"].as_i64().unwrap();

    // A rolled-back transaction announces nothing and takes no seq.
    writer
        .batch_execute(
            "BEGIN; SELECT metadata.save('object', 'ghost', '{}', scope => 'system'); ROLLBACK;",
        )
        .unwrap();
    assert!(drain(&mut listener).is_empty());

    // A bulk save in one transaction: one event per change, consecutive seq, in order.
    writer
        .batch_execute(
            "SELECT metadata.bulk_save('[{\"type\": \"object\", \"name\": \"b\", \"metadata\": {}, \"scope\": \"system\"}, \
                                        {\"type\": \"object\", \"name\": \"c\", \"metadata\": {}, \"scope\": \"system\"}, \
                                        {\"type\": \"object\", \"name\": \"a\", \"metadata\": {\"v\": 2}, \"scope\": \"system\"}]')",
        )
        .unwrap();
    let events = drain(&mut listener);
    assert_eq!(
        names(&events),
        vec!["create:b:1", "create:c:1", "update:a:2"]
    );
    assert_eq!(seqs(&events), vec![first + 1, first + 2, first + 3]);

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
    let events = drain(&mut listener);
    assert_eq!(names(&events), vec!["create:y:1", "create:x:1"]);
    assert_eq!(seqs(&events), vec![first + 4, first + 5]);

    // A large transaction is announced by one summary notification.
    writer
        .batch_execute(
            "SELECT metadata.bulk_save(jsonb_agg(jsonb_build_object('type', 'object', 'name', 'bulk' || i, \
             'metadata', '{}'::jsonb, 'scope', 'system'))) FROM generate_series(1, 150) AS i",
        )
        .unwrap();
    let events = drain(&mut listener);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["op"], "batch");
    assert_eq!(events[0]["count"], 150);
    assert_eq!(events[0]["seq"].as_i64().unwrap(), first + 6);
    assert_eq!(events[0]["last_seq"].as_i64().unwrap(), first + 155);
    let last_seen = first + 155;

    // metadata.notify = off (its value at commit counts): no notification, but the feed
    // records.
    writer
        .batch_execute(
            "BEGIN; SET LOCAL metadata.notify = off; \
             SELECT metadata.save('object', 'quiet', '{}', scope => 'system'); COMMIT;",
        )
        .unwrap();
    assert!(drain(&mut listener).is_empty());

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
    let missed: Vec<String> = listener
        .query(
            "SELECT op, name, version, seq FROM metadata.changes_since($1)",
            &[&last_seen],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let (op, name, version, seq): (String, String, i32, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            format!("{op}:{name}:{version}@{}", seq - last_seen)
        })
        .collect();
    assert_eq!(
        missed,
        vec!["create:quiet:1@1", "update:a:3@2", "delete:b:2@3"]
    );
    let late = drain(&mut listener);
    assert!(late.is_empty(), "{late:?}");
}
