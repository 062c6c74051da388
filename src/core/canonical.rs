//! Canonical JSON and checksums (DESIGN §2, column `checksum`).
//!
//! The canonical text of a JSON value is its serialisation with object members sorted by
//! key (byte order of the UTF-8 key, which is Unicode code point order), no insignificant
//! whitespace, strings escaped as `serde_json` escapes them and numbers written exactly as
//! stored (the crate is built with `arbitrary_precision`, so `1.50` stays `1.50`).
//! The checksum is `sha256:` followed by the lower-case hex SHA-256 of that text.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Prefix of every checksum this extension writes.
pub const CHECKSUM_PREFIX: &str = "sha256:";

/// Returns the canonical JSON text of `value` (keys sorted, no whitespace).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    // The writer only emits valid UTF-8: keys and strings come from `String`s.
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// Returns `sha256:<hex>` of the canonical JSON text of `value`.
pub fn checksum(value: &Value) -> String {
    let mut bytes = Vec::with_capacity(1024);
    write_canonical(value, &mut bytes);
    let digest = Sha256::digest(&bytes);
    let mut out = String::with_capacity(CHECKSUM_PREFIX.len() + 64);
    out.push_str(CHECKSUM_PREFIX);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(member, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Serialising a scalar into a Vec cannot fail.
    serde_json::to_writer(out, value).expect("serialising a JSON scalar");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_recursively_without_whitespace() {
        let v = json!({"b": 1, "a": {"z": [3, {"y": null, "x": true}], "c": "s"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"s","z":[3,{"x":true,"y":null}]},"b":1}"#
        );
    }

    #[test]
    fn key_order_is_code_point_order() {
        let v: Value = serde_json::from_str(r#"{"é":1,"z":2,"Z":3,"aa":4,"a":5}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"Z":3,"a":5,"aa":4,"z":2,"é":1}"#);
    }

    #[test]
    fn escapes_strings_and_keeps_unicode() {
        let v = json!({"q": "say \"hi\"\n", "中文": "标签"});
        assert_eq!(canonical_json(&v), r#"{"q":"say \"hi\"\n","中文":"标签"}"#);
    }

    #[test]
    fn numbers_are_kept_exactly() {
        let v: Value =
            serde_json::from_str(r#"{"a":1.50,"b":12345678901234567890123,"c":-0.0001}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":1.50,"b":12345678901234567890123,"c":-0.0001}"#
        );
    }

    #[test]
    fn checksum_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap();
        assert_eq!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&json!({"a": 1, "b": [2, 1]})));
    }

    #[test]
    fn checksum_is_sha256_of_canonical_text() {
        // sha256("{}") computed independently (e.g. `printf '{}' | sha256sum`).
        assert_eq!(
            checksum(&json!({})),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
