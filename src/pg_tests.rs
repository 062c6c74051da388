//! `#[pg_test]` tests: behaviour that only shows inside a backend (per-backend plan cache,
//! settings read from Rust, errors raised from Rust). Run by `cargo pgrx test`.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::json;

    /// Every test starts here. The tests run in parallel transactions and one of them drops
    /// the extension: an advisory lock runs them one at a time. They are about layers:
    /// objects of any shape, without schema validation.
    fn setup() {
        Spi::run("SELECT pg_advisory_xact_lock(20261121)").unwrap();
        without_validation();
    }

    fn without_validation() {
        Spi::run("SELECT metadata.register_type('object', validation_mode => 'off')").unwrap();
    }

    fn effective(name: &str) -> Option<serde_json::Value> {
        Spi::get_one_with_args::<JsonB>("SELECT metadata.effective('object', $1)", &[name.into()])
            .expect("effective() runs")
            .map(|j| j.0)
    }

    fn jsonb(text: &str) -> crate::pg::jsonb::JsonbBytes {
        Spi::get_one_with_args::<crate::pg::jsonb::JsonbBytes>("SELECT $1::jsonb", &[text.into()])
            .expect("jsonb input")
            .expect("a value")
    }

    /// Documents are read from jsonb's binary form: exactly what parsing their JSON text
    /// gives, numbers digit for digit, strings escape for escape.
    #[pg_test]
    fn documents_read_from_jsonb_equal_their_text() {
        for text in [
            r#"{}"#,
            r#"{"a": 1, "b": 1.50, "c": -0, "d": 1e3, "e": 12345678901234567890.123456789, "f": 1e-20}"#,
            r#"{"s": "quote \" backslash \\ tab \t nl \n \u0001 é 😀", "k\"ey": null, "": true, "f": false}"#,
            r#"{"a": [], "b": {}, "c": [[1, [2, {"x": [3]}]], {"y": {"z": []}}], "d": [null, true, "x", 2]}"#,
            r#"{"fields": {"name": {"type": "text", "maxLength": 255}, "tier": {"type": "select", "options": ["a", "b"]}}}"#,
        ] {
            let doc = jsonb(text);
            let walked = doc.to_document().expect("a document");
            let parsed = crate::core::document::parse_document(&doc.to_text()).expect("a document");
            assert_eq!(walked, parsed, "{text}");
            assert_eq!(walked.to_string(), parsed.to_string(), "{text}");
        }
    }

    /// The limits hold for the binary reading too: a small jsonb whose JSON text is over
    /// 4 MiB (numbers written out in full) is too large; too deep is too deep, with its
    /// pointer; a non-object is refused.
    #[pg_test]
    fn documents_read_from_jsonb_keep_the_limits() {
        use crate::core::document::DocumentError;
        let big = format!("{{\"a\": [{}]}}", vec!["1e131000"; 40].join(", "));
        let doc = jsonb(&big);
        assert!(doc.size() < 10_000);
        assert!(matches!(
            doc.to_document(),
            Err(DocumentError::TooLarge { .. })
        ));
        let deep = format!("{{\"a\": {}1{}}}", "[".repeat(120), "]".repeat(120));
        match jsonb(&deep).to_document() {
            Err(DocumentError::TooDeep { pointer }) => {
                assert!(pointer.starts_with("/a/0/0/0"), "{pointer}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            jsonb("[1]").to_document(),
            Err(DocumentError::NotAnObject { .. })
        ));
    }

    #[pg_test]
    fn settings_choose_the_audience() {
        setup();
        Spi::run("SELECT metadata.save('object', 'a', '{\"label\": \"base\", \"x\": 1}', scope => 'system')").unwrap();
        Spi::run("SET LOCAL metadata.tenant_id = 't1'").unwrap();
        Spi::run("SELECT metadata.save('object', 'a', '{\"label\": \"t1\"}')").unwrap();
        Spi::run("SET LOCAL metadata.user_id = 'u1'").unwrap();
        Spi::run("SELECT metadata.save('object', 'a', '{\"x\": 2}', scope => 'user')").unwrap();
        assert_eq!(effective("a"), Some(json!({"label": "t1", "x": 2})));
        Spi::run("SET LOCAL metadata.user_id = ''").unwrap();
        assert_eq!(effective("a"), Some(json!({"label": "t1", "x": 1})));
        Spi::run("SET LOCAL metadata.tenant_id = 't2'").unwrap();
        assert_eq!(effective("a"), Some(json!({"label": "base", "x": 1})));
    }

    #[pg_test]
    fn cached_plans_survive_the_extension_being_recreated() {
        setup();
        Spi::run("SELECT metadata.save('object', 'a', '{\"v\": 1}', scope => 'system')").unwrap();
        assert_eq!(effective("a"), Some(json!({"v": 1})));
        // The backend keeps its prepared layer queries; they must follow the new table.
        // Reference checks wait for the commit; run them now so the table can be dropped.
        Spi::run("SET CONSTRAINTS ALL IMMEDIATE").unwrap();
        Spi::run("DROP EXTENSION metadata CASCADE").unwrap();
        Spi::run("CREATE EXTENSION metadata").unwrap();
        without_validation();
        assert_eq!(effective("a"), None);
        Spi::run("SELECT metadata.save('object', 'a', '{\"v\": 2}', scope => 'system')").unwrap();
        assert_eq!(effective("a"), Some(json!({"v": 2})));
    }

    #[pg_test]
    fn effective_all_matches_effective_for_every_item() {
        setup();
        Spi::run(
            "SELECT metadata.bulk_save(jsonb_agg(jsonb_build_object('type', 'object', 'name', 'o' || i, \
             'metadata', jsonb_build_object('i', i, 'tag', 'base'), 'scope', 'system'))) \
             FROM generate_series(1, 50) AS i",
        )
        .unwrap();
        Spi::run("SET LOCAL metadata.tenant_id = 't1'").unwrap();
        Spi::run("SELECT metadata.save('object', 'o7', '{\"tag\": \"t1\"}')").unwrap();
        let mismatches = Spi::get_one::<i64>(
            "SELECT count(*) FROM metadata.effective_all('object') e \
             WHERE e.doc IS DISTINCT FROM metadata.effective('object', e.name)",
        )
        .unwrap();
        assert_eq!(mismatches, Some(0));
        assert_eq!(effective("o7"), Some(json!({"i": 7, "tag": "t1"})));
    }

    #[pg_test(
        error = "object: stored layer of \"bad\" is unusable: document nests deeper than 100 levels at \"/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a\""
    )]
    fn a_row_written_around_the_trigger_is_an_error_not_a_crash() {
        setup();
        // session_replication_role = replica skips the write trigger, as a careless restore
        // might: a base nested too deep for the parser, and an overlay that forces a parse.
        Spi::run("SET LOCAL session_replication_role = replica").unwrap();
        Spi::run(
            "INSERT INTO metadata.sys_metadata (type, name, scope, metadata, checksum) \
             VALUES ('object', 'bad', 'system', \
                     (repeat('{\"a\":', 150) || '1' || repeat('}', 150))::jsonb, 'sha256:x'), \
                    ('object', 'bad', 'platform', '{\"b\": 1}', 'sha256:y')",
        )
        .unwrap();
        Spi::run("SET LOCAL session_replication_role = origin").unwrap();
        Spi::run("SELECT metadata.effective('object', 'bad')").unwrap();
    }

    #[pg_test]
    fn memoised_and_folded_documents_agree_as_layers_change() {
        setup();
        Spi::run("SELECT metadata.save('object', 'm', '{\"a\": 1, \"b\": {\"c\": 2}}', scope => 'system')")
            .unwrap();
        Spi::run("SET LOCAL metadata.tenant_id = 't1'").unwrap();
        for i in 0..5 {
            Spi::run(&format!(
                "SELECT metadata.save('object', 'm', '{{\"b\": {{\"c\": {i}}}}}')"
            ))
            .unwrap();
            let cached = effective("m");
            Spi::run("SET LOCAL metadata.effective_cache = off").unwrap();
            let folded = effective("m");
            Spi::run("SET LOCAL metadata.effective_cache = on").unwrap();
            assert_eq!(cached, folded);
            assert_eq!(cached, Some(json!({"a": 1, "b": {"c": i}})));
        }
        // Back to an earlier overlay: the memo answers with the right document.
        Spi::run("SELECT metadata.save('object', 'm', '{\"b\": {\"c\": 1}}')").unwrap();
        assert_eq!(effective("m"), Some(json!({"a": 1, "b": {"c": 1}})));
    }
}
