//! Optimistic concurrency over real connections (DESIGN §4 "Concurrency"): several clients
//! run read-modify-write loops on one item with expected_version, retrying on SQLSTATE
//! 40001. No update is lost: the final counter equals the number of successful writes, the
//! version is one more, and the history holds every version once.

use metadata_client_tests::{connect, fresh_extension, sqlstate};
use serde_json::Value;
use std::thread;

const CLIENTS: usize = 4;
const WRITES_PER_CLIENT: usize = 40;

#[test]
fn read_modify_write_loops_lose_no_update() {
    let mut setup = connect();
    fresh_extension(&mut setup);
    setup
        .batch_execute("SELECT metadata.save('object', 'counter', '{\"n\": 0}', scope => 'system')")
        .unwrap();

    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            thread::spawn(|| {
                let mut client = connect();
                let (mut writes, mut retries) = (0usize, 0usize);
                while writes < WRITES_PER_CLIENT {
                    let row = client
                        .query_one(
                            "SELECT version, metadata::text FROM metadata.get('object', 'counter', 'system')",
                            &[],
                        )
                        .unwrap();
                    let version: i32 = row.get(0);
                    let doc: Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
                    let next = serde_json::json!({"n": doc["n"].as_i64().unwrap() + 1}).to_string();
                    match client.execute(
                        "SELECT metadata.save('object', 'counter', $1::text::jsonb, scope => 'system', \
                                              expected_version => $2)",
                        &[&next, &version],
                    ) {
                        Ok(_) => writes += 1,
                        Err(e) if sqlstate(&e).as_deref() == Some("40001") => retries += 1,
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
                retries
            })
        })
        .collect();
    let retries: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();

    let total = (CLIENTS * WRITES_PER_CLIENT) as i64;
    let row = setup
        .query_one(
            "SELECT (metadata->>'n')::bigint, version FROM metadata.get('object', 'counter', 'system')",
            &[],
        )
        .unwrap();
    let (n, version): (i64, i32) = (row.get(0), row.get(1));
    assert_eq!(
        n, total,
        "every successful write counted once ({retries} retries)"
    );
    assert_eq!(version as i64, total + 1);
    let row = setup
        .query_one(
            "SELECT count(*), count(DISTINCT version), min(version), max(version) \
             FROM metadata.sys_metadata_history WHERE name = 'counter'",
            &[],
        )
        .unwrap();
    let (rows, distinct, min, max): (i64, i64, i32, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (rows, distinct, min as i64, max as i64),
        (total + 1, total + 1, 1, total + 1)
    );
    println!("read-modify-write: {total} writes by {CLIENTS} clients, {retries} retries on 40001");
}
