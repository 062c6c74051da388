//! Parsing of metadata documents with the limits the extension promises (DESIGN §1:
//! bad input gets a clear error, never a crash).
//!
//! A document is a JSON object of at most [`MAX_DOCUMENT_BYTES`] bytes of JSON text whose
//! containers nest at most [`MAX_DEPTH`] levels. Depth is checked by a linear scan *before*
//! parsing, so a hostile 10,000-deep document is refused with the JSON Pointer (RFC 6901) of
//! where it gets too deep, without recursion.

use crate::core::pointer::pointer;
use serde_json::Value;
use std::fmt;

/// Largest accepted document, in bytes of its JSON text (4 MiB). The largest real document
/// in the ObjectStack corpora is 46 KB.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// Deepest accepted nesting of objects and arrays (the top-level object is depth 1). Real
/// documents nest at most 19 levels; serde_json's own parser stops at 128.
pub const MAX_DEPTH: usize = 100;

/// Why a text is not an acceptable metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// The JSON text is longer than [`MAX_DOCUMENT_BYTES`].
    TooLarge { bytes: usize },
    /// Containers nest deeper than [`MAX_DEPTH`]; `pointer` is where the limit is crossed.
    TooDeep { pointer: String },
    /// The value is valid JSON but not an object; `found` names its JSON type.
    NotAnObject { found: &'static str },
    /// The text is not JSON at all.
    Syntax { message: String },
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentError::TooLarge { bytes } => write!(
                f,
                "document is {bytes} bytes of JSON, more than the limit of {MAX_DOCUMENT_BYTES}"
            ),
            DocumentError::TooDeep { pointer } => write!(
                f,
                "document nests deeper than {MAX_DEPTH} levels at \"{pointer}\""
            ),
            DocumentError::NotAnObject { found } => {
                write!(f, "document must be a JSON object, not {found}")
            }
            DocumentError::Syntax { message } => write!(f, "document is not valid JSON: {message}"),
        }
    }
}

/// Name of the JSON type of `value`, as `jsonb_typeof` spells it.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses any JSON value under the size and depth limits.
pub fn parse_value(text: &str) -> Result<Value, DocumentError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge { bytes: text.len() });
    }
    if let Some(pointer) = depth_exceeded(text, MAX_DEPTH) {
        return Err(DocumentError::TooDeep { pointer });
    }
    serde_json::from_str(text).map_err(|e| DocumentError::Syntax {
        message: e.to_string(),
    })
}

/// Parses a metadata document: a JSON object under the size and depth limits.
pub fn parse_document(text: &str) -> Result<Value, DocumentError> {
    let value = parse_value(text)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(DocumentError::NotAnObject {
            found: json_type_name(&value),
        })
    }
}

enum Frame {
    Object { key: Option<String> },
    Array { index: usize },
}

/// Scans JSON text without recursion; returns the JSON Pointer of the first container that
/// would be nested deeper than `limit`, or `None`. Text that is not JSON is left for the
/// parser to reject.
pub fn depth_exceeded(text: &str, limit: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut expecting_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if expecting_key {
                    if let Some(Frame::Object { key }) = stack.last_mut() {
                        let raw = &text[start..i.min(bytes.len())];
                        *key = Some(unescape(raw));
                    }
                    expecting_key = false;
                }
            }
            open @ (b'{' | b'[') => {
                if stack.len() >= limit {
                    return Some(path_of(&stack));
                }
                if open == b'{' {
                    stack.push(Frame::Object { key: None });
                    expecting_key = true;
                } else {
                    stack.push(Frame::Array { index: 0 });
                }
            }
            b'}' | b']' => {
                stack.pop();
                expecting_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { .. }) => expecting_key = true,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    None
}

fn path_of(stack: &[Frame]) -> String {
    pointer(stack.iter().map(|frame| match frame {
        Frame::Object { key } => key.clone().unwrap_or_default(),
        Frame::Array { index } => index.to_string(),
    }))
}

fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!(
            "{}{}",
            "{\"a\":".repeat(depth),
            format!("1{}", "}".repeat(depth))
        )
    }

    #[test]
    fn accepts_objects_within_limits() {
        let v = parse_document(r#"{"name":"account","fields":{"x":{"type":"text"}}}"#).unwrap();
        assert_eq!(v["name"], "account");
        assert!(parse_document(&nested(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn rejects_non_objects_with_their_type() {
        assert_eq!(
            parse_document("[1]"),
            Err(DocumentError::NotAnObject { found: "array" })
        );
        assert_eq!(
            parse_document("\"x\""),
            Err(DocumentError::NotAnObject { found: "string" })
        );
        assert_eq!(
            parse_document("null"),
            Err(DocumentError::NotAnObject { found: "null" })
        );
    }

    #[test]
    fn rejects_deep_nesting_with_pointer_and_without_recursion() {
        let err = parse_document(&nested(10_000)).unwrap_err();
        let DocumentError::TooDeep { pointer } = err else {
            panic!("expected TooDeep")
        };
        assert_eq!(pointer, "/a".repeat(MAX_DEPTH));
        let arrays = format!("{{\"k/~\":{}{}}}", "[0,".repeat(10_000), "]".repeat(10_000));
        let DocumentError::TooDeep { pointer } = parse_document(&arrays).unwrap_err() else {
            panic!("expected TooDeep")
        };
        assert!(pointer.starts_with("/k~1~0/1/1/1"), "{pointer}");
    }

    #[test]
    fn braces_inside_strings_do_not_count() {
        let text = format!("{{\"s\":\"{}\"}}", "{[".repeat(500));
        assert!(parse_document(&text).is_ok());
        let escaped = r#"{"k\"{":"\\","x":{"y":1}}"#;
        assert!(parse_document(escaped).is_ok());
    }

    #[test]
    fn escaped_keys_appear_unescaped_in_pointer() {
        let text = format!(
            "{{\"a\\u0062\":{}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let DocumentError::TooDeep { pointer } = parse_document(&text).unwrap_err() else {
            panic!("expected TooDeep")
        };
        assert!(pointer.starts_with("/ab/0/0"), "{pointer}");
    }

    #[test]
    fn rejects_oversized_text_before_parsing() {
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_DOCUMENT_BYTES));
        assert!(matches!(
            parse_document(&big),
            Err(DocumentError::TooLarge { .. })
        ));
    }

    #[test]
    fn reports_syntax_errors() {
        assert!(matches!(
            parse_document("{\"a\":"),
            Err(DocumentError::Syntax { .. })
        ));
    }
}
