//! Privilege escalation through `search_path` (DESIGN §5): an editor owns a schema and plants
//! operators and functions there that shadow pg_catalog's for every type the extension
//! compares (text, integer, bigint, jsonb, uuid, timestamptz, boolean) and functions its
//! code calls. An admin then runs with `SET search_path = evil, pg_catalog` and calls every
//! public function. None of the editor's code may run with the admin's rights: every
//! function and query of the extension must be immune to the caller's search_path.

use metadata_client_tests::{connect, connect_as, fresh_extension};

/// The editor's trap: every shadowing function records who called it in evil.calls and then
/// answers as pg_catalog's would, so that the extension works on and the record is the only
/// trace.
const TRAP: &str = r#"
CREATE TABLE evil.calls (who text, what text);
GRANT INSERT ON evil.calls TO PUBLIC;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.note(what text) RETURNS void LANGUAGE sql SECURITY INVOKER
  AS $$ INSERT INTO evil.calls VALUES (current_user, what) $$;
"#;

/// (operator, left type, right type, result type, pg_catalog function it stands in for)
const OPERATORS: &[(&str, &str, &str, &str, &str)] = &[
    ("=", "text", "text", "boolean", "texteq"),
    ("<>", "text", "text", "boolean", "textne"),
    ("||", "text", "text", "text", "textcat"),
    ("=", "integer", "integer", "boolean", "int4eq"),
    ("<>", "integer", "integer", "boolean", "int4ne"),
    ("<", "integer", "integer", "boolean", "int4lt"),
    (">", "integer", "integer", "boolean", "int4gt"),
    ("+", "integer", "integer", "integer", "int4pl"),
    ("-", "integer", "integer", "integer", "int4mi"),
    ("=", "bigint", "bigint", "boolean", "int8eq"),
    (">", "bigint", "bigint", "boolean", "int8gt"),
    ("<", "bigint", "bigint", "boolean", "int8lt"),
    ("+", "bigint", "bigint", "bigint", "int8pl"),
    ("-", "bigint", "bigint", "bigint", "int8mi"),
    ("=", "jsonb", "jsonb", "boolean", "jsonb_eq"),
    ("->", "jsonb", "text", "jsonb", "jsonb_object_field"),
    ("->>", "jsonb", "text", "text", "jsonb_object_field_text"),
    ("?", "jsonb", "text", "boolean", "jsonb_exists"),
    ("||", "jsonb", "jsonb", "jsonb", "jsonb_concat"),
    ("=", "uuid", "uuid", "boolean", "uuid_eq"),
    (
        "=",
        "timestamptz",
        "timestamptz",
        "boolean",
        "timestamptz_eq",
    ),
    (
        ">",
        "timestamptz",
        "timestamptz",
        "boolean",
        "timestamptz_gt",
    ),
    ("=", "boolean", "boolean", "boolean", "booleq"),
];

/// (function signature, result type, body calling pg_catalog's)
const FUNCTIONS: &[(&str, &str, &str)] = &[
    (
        "current_setting(a text, b boolean)",
        "text",
        "pg_catalog.current_setting(a, b)",
    ),
    (
        "jsonb_typeof(a jsonb)",
        "text",
        "pg_catalog.jsonb_typeof(a)",
    ),
    (
        "jsonb_build_object(a text, b text)",
        "jsonb",
        "pg_catalog.jsonb_build_object(a, b)",
    ),
    ("format(a text, b text)", "text", "pg_catalog.format(a, b)"),
    ("left(a text, b integer)", "text", "pg_catalog.left(a, b)"),
    (
        "set_config(a text, b text, c boolean)",
        "text",
        "pg_catalog.set_config(a, b, c)",
    ),
    (
        "pg_current_xact_id()",
        "xid8",
        "pg_catalog.pg_current_xact_id()",
    ),
    ("now()", "timestamptz", "pg_catalog.now()"),
    (
        "array_to_string(a text[], b text)",
        "text",
        "pg_catalog.array_to_string(a, b)",
    ),
    (
        "jsonb_array_elements_text(a jsonb)",
        "SETOF text",
        "pg_catalog.jsonb_array_elements_text(a)",
    ),
    (
        "pg_notify(a text, b text)",
        "void",
        "pg_catalog.pg_notify(a, b)",
    ),
];

fn trap_sql() -> String {
    let mut sql = TRAP.to_owned();
    for (i, (op, left, right, result, function)) in OPERATORS.iter().enumerate() {
        sql.push_str(&format!(
            "CREATE FUNCTION evil.op{i}(a {left}, b {right}) RETURNS {result} LANGUAGE sql \
               AS $$ SELECT evil.note('operator {op}({left}, {right})'); SELECT pg_catalog.{function}(a, b) $$;\n\
             CREATE OPERATOR evil.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = evil.op{i});\n"
        ));
    }
    for (signature, result, body) in FUNCTIONS {
        let select = if result.starts_with("SETOF") {
            format!("SELECT * FROM {body}")
        } else {
            format!("SELECT {body}")
        };
        sql.push_str(&format!(
            "CREATE FUNCTION evil.{signature} RETURNS {result} LANGUAGE sql \
               AS $$ SELECT evil.note('function {signature}'); {select} $$;\n"
        ));
    }
    sql
}

/// Every public function, called as the admin: reads, writes, history, types, documents.
const CALLS: &[&str] = &[
    "SELECT metadata.current_tenant(), metadata.current_user_id(), metadata.current_actor()",
    "SELECT * FROM metadata.version()",
    "SELECT metadata.checksum('{\"a\": 1}'), metadata.canonical('{\"b\": 1, \"a\": [1]}')",
    "SELECT metadata.merge_patch('{\"a\": 1}', '{\"a\": null, \"b\": 2}')",
    "SELECT metadata.diff('{\"a\": 1}', '{\"a\": 2}')",
    "SELECT metadata.save('object', 'sp', '{\"name\": \"sp\", \"fields\": {}}', scope => 'system')",
    "SELECT metadata.save('object', 'sp', '{\"name\": \"sp\", \"fields\": {\"x\": {\"type\": \"text\"}}}', scope => 'system', expected_version => 1)",
    "SELECT metadata.save('object', 'sp', '{\"label\": \"draft\"}', scope => 'system', state => 'draft')",
    "SELECT metadata.publish('object', 'sp', 'system')",
    "SELECT metadata.get('object', 'sp', 'system')",
    "SELECT metadata.exists('object', 'sp'), metadata.exists('object', 'sp', 'system')",
    "SELECT metadata.effective('object', 'sp'), metadata.effective('object', 'sp', preview => true)",
    "SELECT * FROM metadata.effective_all('object')",
    "SELECT * FROM metadata.explain('object', 'sp')",
    "SELECT metadata.validate('object', '{\"name\": \"x\"}'), metadata.is_valid('object', '{}')",
    "SELECT * FROM metadata.history('object', 'sp')",
    "SELECT metadata.at_version('object', 'sp', 1, 'system')",
    "SELECT metadata.diff('object', 'sp', 1, 2, 'system')",
    "SELECT metadata.rollback('object', 'sp', 1, scope => 'system')",
    "SELECT metadata.delete('object', 'sp', 'system')",
    "SELECT metadata.bulk_save('[{\"type\": \"object\", \"name\": \"sp2\", \"metadata\": {\"name\": \"sp2\", \"fields\": {}}, \"scope\": \"system\", \"tags\": [\"t\"]}]')",
    "SELECT * FROM metadata.changes_since(0)",
    "SELECT metadata.register_type('sp_type', 'ui', schema => '{\"type\": \"object\"}', locked_paths => '{/a}', reference_paths => '[{\"path\": \"/b\", \"type\": \"sp_type\"}]')",
    "SELECT metadata.register_schemas('{\"sp_type\": {\"type\": \"object\"}}')",
    "INSERT INTO metadata.sys_metadata (type, name, scope, metadata) VALUES ('object', 'sp3', 'system', '{\"name\": \"sp3\", \"fields\": {}}')",
    // The admin's own query text must not use the planted operators either.
    "UPDATE metadata.sys_metadata SET tags = '{x}' WHERE name OPERATOR(pg_catalog.=) 'sp3'",
    "DELETE FROM metadata.sys_metadata WHERE name OPERATOR(pg_catalog.=) 'sp3'",
];

#[test]
fn an_editors_operators_never_run_with_an_admins_rights() {
    let mut owner = connect();
    fresh_extension(&mut owner);
    owner
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'md_bob') THEN CREATE ROLE md_bob LOGIN; END IF;
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'md_adam') THEN CREATE ROLE md_adam LOGIN; END IF;
             END $$;
             GRANT metadata_editor TO md_bob;
             GRANT metadata_admin TO md_adam;
             DROP SCHEMA IF EXISTS evil CASCADE;
             CREATE SCHEMA evil AUTHORIZATION md_bob;",
        )
        .unwrap();
    let mut bob = connect_as("md_bob", "globex", "bob");
    bob.batch_execute(&trap_sql()).expect("planting the trap");
    // The trap works: bob's own query text uses his operator.
    bob.batch_execute(
        "SET search_path = evil, pg_catalog; SELECT 'a'::text = 'b'::text; RESET search_path;",
    )
    .unwrap();
    let planted: i64 = owner
        .query_one("SELECT count(*) FROM evil.calls", &[])
        .unwrap()
        .get(0);
    assert_eq!(planted, 1, "the trap records a call");
    owner.batch_execute("DELETE FROM evil.calls").unwrap();

    let mut adam = connect_as("md_adam", "", "adam");
    adam.batch_execute("SET search_path = evil, pg_catalog")
        .unwrap();
    let mut failures = Vec::new();
    for sql in CALLS {
        if let Err(e) = adam.batch_execute(sql) {
            failures.push(format!("{sql}: {e}"));
        }
        // Commit-time work (the feed step) ran too: each statement is its own transaction.
    }
    assert!(
        failures.is_empty(),
        "calls failed:\n{}",
        failures.join("\n")
    );
    let calls: Vec<String> = owner
        .query("SELECT who || ': ' || what FROM evil.calls", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    println!(
        "search_path: {} public calls as an admin under an editor's {} shadowing operators and {} functions: {} ran",
        CALLS.len(),
        OPERATORS.len(),
        FUNCTIONS.len(),
        calls.len()
    );
    assert!(
        calls.is_empty(),
        "the editor's code ran:\n{}",
        calls.join("\n")
    );
}
