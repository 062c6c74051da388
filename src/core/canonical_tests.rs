use super::*;
use proptest::prelude::*;
use serde_json::json;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn sorts_keys_recursively_without_whitespace() {
    let v = json!({"b": 1, "a": {"z": [3, {"y": null, "x": true}], "c": "s"}});
    assert_eq!(
        canonical_json(&v),
        r#"{"a":{"c":"s","z":[3,{"x":true,"y":null}]},"b":1}"#
    );
}

#[test]
fn keys_are_ordered_by_utf16_code_units() {
    // RFC 8785 §3.2.3: U+FB01 (one code unit 0xFB01) sorts after U+1F600 (surrogates
    // 0xD83D 0xDE00), although its UTF-8 bytes (EF AC 81) sort before (F0 9F 98 80).
    let v = parse(r#"{"ﬁ":1,"😀":2,"é":3,"z":4,"Z":5,"aa":6,"a":7}"#);
    assert_eq!(
        canonical_json(&v),
        r#"{"Z":5,"a":7,"aa":6,"z":4,"é":3,"😀":2,"ﬁ":1}"#
    );
    // 0.1.0's order was the bytes'.
    assert_ne!(checksum(&v), checksum_v1(&v));
}

#[test]
fn escapes_strings_as_json_stringify_and_keeps_unicode() {
    let v = json!({"q": "say \"hi\"\n\u{1}\u{7f}/", "中文": "标签"});
    assert_eq!(
        canonical_json(&v),
        "{\"q\":\"say \\\"hi\\\"\\n\\u0001\u{7f}/\",\"中文\":\"标签\"}"
    );
}

#[test]
fn numbers_take_their_ecmascript_form() {
    for (text, canonical) in [
        ("1.0", "1"),
        ("1e2", "100"),
        ("1.50", "1.5"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0.000001", "0.000001"),
        ("1e-7", "1e-7"),
        ("1e21", "1e+21"),
        ("123e18", "123000000000000000000"),
        ("4.35", "4.35"),
        ("0.1", "0.1"),
        ("-12", "-12"),
        ("9007199254740992", "9007199254740992"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("5e-324", "5e-324"),
    ] {
        assert_eq!(canonical_json(&parse(text)), canonical, "{text}");
    }
}

#[test]
fn numbers_a_double_cannot_hold_keep_their_exact_value() {
    for (text, canonical) in [
        // 2^53 + 1 is no double (JSON.parse makes it 9007199254740992).
        ("9007199254740993", "9007199254740993"),
        ("12345678901234567890123", "1.2345678901234567890123e+22"),
        ("0.12345678901234567890", "0.1234567890123456789"),
        ("1e400", "1e+400"),
        ("-2.50e-400", "-2.5e-400"),
    ] {
        assert_eq!(canonical_json(&parse(text)), canonical, "{text}");
    }
    // So two documents that differ there differ in checksum.
    assert_ne!(
        checksum(&parse("[9007199254740993]")),
        checksum(&parse("[9007199254740992]"))
    );
}

#[test]
fn checksum_is_sha256_of_canonical_text() {
    // sha256("{}") computed independently (e.g. `printf '{}' | sha256sum`).
    assert_eq!(
        checksum(&json!({})),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
}

#[test]
fn v1_is_0_1_0s_checksum() {
    // 0.1.0 wrote numbers as stored.
    let v = parse(r#"{"a":1.50}"#);
    let mut hex = String::new();
    for b in Sha256::digest(br#"{"a":1.50}"#) {
        write!(hex, "{b:02x}").unwrap();
    }
    assert_eq!(checksum_v1(&v), format!("sha256:{hex}"));
    assert_ne!(checksum_v1(&v), checksum(&v));
    // Documents with integers and ASCII keys hash alike in both.
    let plain = json!({"b": [1, -2, "x"], "a": {"c": null}});
    assert_eq!(checksum_v1(&plain), checksum(&plain));
}

/// Vectors made by ObjectStack's own `hashSpec` (tests/vectors/hashspec.mjs): random
/// documents with varied number spellings and keys from every Unicode region.
#[test]
fn equals_objectstack_hash_spec_on_generated_documents() {
    #[derive(serde::Deserialize)]
    struct Vector {
        text: String,
        hash: String,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("testdata/hashspec_vectors.json")).unwrap();
    assert!(vectors.len() >= 400);
    for v in &vectors {
        assert_eq!(checksum(&parse(&v.text)), v.hash, "{}", v.text);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = "[a-zA-Z_é中\u{e000}\u{fb01}\u{1f600}\"\\\\\n]{0,4}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        key.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// The canonical text is a fixed point: parsing it and canonicalising again changes
    /// nothing, so a document read back from its canonical text has the same checksum.
    #[test]
    fn canonical_text_is_a_fixed_point(v in json_value()) {
        let text = canonical_json(&v);
        prop_assert_eq!(canonical_json(&parse(&text)), text);
    }

    /// Reordering members or re-spelling numbers (`x` as `x.0`, `xe0`) keeps the checksum.
    #[test]
    fn checksum_ignores_member_order_and_number_spelling(v in json_value()) {
        let respelled = respell(&v);
        prop_assert_eq!(checksum(&respelled), checksum(&v));
    }
}

/// The same value with members in reverse order and every number spelled differently.
fn respell(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let text = format!(
                "{{{}}}",
                map.iter()
                    .rev()
                    .map(|(k, m)| format!("{}:{}", Value::String(k.clone()), respell(m)))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            parse(&text)
        }
        Value::Array(items) => Value::Array(items.iter().map(respell).collect()),
        Value::Number(n) => {
            let s = n.as_str();
            let spelled = if s.contains(['e', 'E']) {
                s.replace('e', "E")
            } else if s.contains('.') {
                format!("{s}00")
            } else {
                format!("{s}e0")
            };
            parse(&spelled)
        }
        other => other.clone(),
    }
}

#[test]
fn array_index_keys_come_first_in_numeric_order_as_in_hash_spec() {
    // JSON.stringify writes integer-like keys first (ECMA-262 property order).
    let v = parse(r#"{"b":1,"10":2,"2":3,"02":4,"\u001f":5,"4294967295":6,"4294967294":7}"#);
    assert_eq!(
        canonical_json(&v),
        r#"{"2":3,"10":2,"4294967294":7,"\u001f":5,"02":4,"4294967295":6,"b":1}"#
    );
}

#[test]
fn form_sensitive_finds_what_the_forms_write_differently() {
    for text in [
        r#"{"a":1.50}"#,
        r#"{"a":{"10":1}}"#,
        r#"{"é":1}"#,
        r#"[1e2]"#,
    ] {
        assert!(form_sensitive(&parse(text)), "{text}");
    }
    for text in [r#"{"a":1.5,"b":[1,-2,"é"],"c":{"x10":null}}"#, r#"{}"#] {
        assert!(!form_sensitive(&parse(text)), "{text}");
        assert_eq!(checksum(&parse(text)), checksum_v1(&parse(text)));
    }
}
