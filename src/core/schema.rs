//! JSON Schema validation of metadata documents (DESIGN §4 "Validation"), with the
//! `jsonschema` crate: every draft it supports (the schema's `$schema` decides, 2020-12 by
//! default), format checks on, no network or file access.
//!
//! A schema may `$ref` the schema of another registered type by the URI
//! `urn:metadata:schema:<type>` or by that schema's own `$id`; any other non-local
//! reference is refused when the schema is registered. Patterns run on fancy-regex with a
//! backtracking limit of [`BACKTRACK_LIMIT`] steps per match, so a pathological pattern
//! fails that match instead of running for ever (the instance itself is bounded by the
//! document limits: 4 MiB, 100 levels).

use crate::core::schema_loops;
use jsonschema::{PatternOptions, Retrieve, Uri, Validator};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Backtracking steps a regular expression may take for one match.
pub const BACKTRACK_LIMIT: usize = 100_000;

/// Longest error message kept (characters); longer ones are cut with an ellipsis.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// The URI under which the schema of a registered type can be referenced.
pub fn type_uri(type_name: &str) -> String {
    format!("urn:metadata:schema:{type_name}")
}

/// One reason a document does not satisfy its schema (the shape `metadata.validate`
/// returns).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// JSON Pointer (RFC 6901) into the document.
    pub instance_path: String,
    /// JSON Pointer into the schema, to the keyword that failed.
    pub schema_path: String,
    /// The JSON Schema keyword, e.g. `required`, `type`, `pattern`.
    pub keyword: String,
    pub message: String,
}

impl SchemaError {
    /// `{instance_path, schema_path, keyword, message}`.
    pub fn to_json(&self) -> Value {
        json!({
            "instance_path": self.instance_path,
            "schema_path": self.schema_path,
            "keyword": self.keyword,
            "message": self.message,
        })
    }
}

/// A compiled schema and the registered schemas it referenced (their URIs).
pub struct Compiled {
    pub validator: Validator,
    pub references: Vec<String>,
}

/// Resolves references to registered schemas only, recording which were used.
struct RegisteredSchemas {
    by_uri: HashMap<String, Value>,
    used: Arc<Mutex<Vec<String>>>,
}

impl Retrieve for RegisteredSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = uri.as_str().trim_end_matches('#');
        match self.by_uri.get(key) {
            Some(schema) => {
                if let Ok(mut used) = self.used.lock() {
                    used.push(key.to_owned());
                }
                Ok(schema.clone())
            }
            None => Err(format!(
                "\"{key}\" is not the schema of a registered type (no network or file access)"
            )
            .into()),
        }
    }
}

/// Compiles `schema`, the schema of type `own_type` (`None`: of no type); `registered` maps
/// URIs (`urn:metadata:schema:<type>` and `$id`s) to the schemas of the other registered
/// types. The schema itself is known by its type's URN and its `$id` too, so that types
/// may reference each other in both directions. Errors: the reason the schema is not
/// usable, a `$ref` loop included (`crate::core::schema_loops`).
pub fn compile(
    own_type: Option<&str>,
    schema: &Value,
    mut registered: HashMap<String, Value>,
) -> Result<Compiled, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("a JSON Schema must be an object or a boolean".to_owned());
    }
    let own_uris: Vec<String> = own_type
        .map(type_uri)
        .into_iter()
        .chain(
            schema
                .get("$id")
                .and_then(Value::as_str)
                .map(|id| id.trim_end_matches('#').to_owned()),
        )
        .collect();
    for uri in &own_uris {
        registered.insert(uri.clone(), schema.clone());
    }
    registered.insert(schema_loops::OWN.to_owned(), schema.clone());
    if let Some(chain) = schema_loops::find_loop(&registered) {
        return Err(truncate(&format!(
            "$ref loop {chain}: a schema that reaches itself without descending into the document would accept everything"
        )));
    }
    registered.remove(schema_loops::OWN);
    let used = Arc::new(Mutex::new(Vec::new()));
    let retriever = RegisteredSchemas {
        by_uri: registered,
        used: Arc::clone(&used),
    };
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .with_pattern_options(PatternOptions::fancy_regex().backtrack_limit(BACKTRACK_LIMIT))
        .with_retriever(retriever)
        .build(schema)
        .map_err(|e| truncate(&e.to_string()))?;
    let mut references = used.lock().map(|u| u.clone()).unwrap_or_default();
    references.retain(|r| !own_uris.contains(r));
    references.sort();
    references.dedup();
    Ok(Compiled {
        validator,
        references,
    })
}

/// Every reason `doc` fails `validator`, in the order the validator finds them.
pub fn errors(validator: &Validator, doc: &Value) -> Vec<SchemaError> {
    validator
        .iter_errors(doc)
        .map(|e| SchemaError {
            instance_path: e.instance_path().as_str().to_owned(),
            schema_path: e.schema_path().as_str().to_owned(),
            keyword: e.kind().keyword().to_owned(),
            message: truncate(&e.to_string()),
        })
        .collect()
}

fn truncate(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message.to_owned();
    }
    let cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(schema: Value) -> Compiled {
        compile(None, &schema, HashMap::new()).expect("schema compiles")
    }

    #[test]
    fn reports_pointer_keyword_and_schema_path() {
        let c = compiled(json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
                "fields": {"type": "object"}
            }
        }));
        assert!(errors(&c.validator, &json!({"name": "account", "fields": {}})).is_empty());
        let errs = errors(&c.validator, &json!({"name": "Bad Name!", "fields": []}));
        let mut found: Vec<(String, String, String)> = errs
            .iter()
            .map(|e| {
                (
                    e.instance_path.clone(),
                    e.keyword.clone(),
                    e.schema_path.clone(),
                )
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                (
                    "/fields".into(),
                    "type".into(),
                    "/properties/fields/type".into()
                ),
                (
                    "/name".into(),
                    "pattern".into(),
                    "/properties/name/pattern".into()
                ),
            ]
        );
        let missing = errors(&c.validator, &json!({}));
        assert_eq!(missing[0].keyword, "required");
        assert_eq!(missing[0].instance_path, "");
    }

    #[test]
    fn checks_formats() {
        let c = compiled(json!({"properties": {"mail": {"type": "string", "format": "email"}}}));
        assert!(errors(&c.validator, &json!({"mail": "a@example.com"})).is_empty());
        assert_eq!(
            errors(&c.validator, &json!({"mail": "not an address"}))[0].keyword,
            "format"
        );
    }

    #[test]
    fn resolves_registered_schemas_and_refuses_others() {
        let mut registered = HashMap::new();
        registered.insert(
            type_uri("field"),
            json!({"type": "object", "required": ["type"]}),
        );
        let schema = json!({
            "type": "object",
            "additionalProperties": {"$ref": "urn:metadata:schema:field"}
        });
        let c = compile(None, &schema, registered).unwrap();
        assert_eq!(c.references, vec![type_uri("field")]);
        assert!(errors(&c.validator, &json!({"a": {"type": "text"}})).is_empty());
        assert_eq!(
            errors(&c.validator, &json!({"a": {}}))[0].instance_path,
            "/a"
        );

        let remote = json!({"$ref": "https://example.com/schema.json"});
        let err = compile(None, &remote, HashMap::new()).err().unwrap();
        assert!(err.contains("example.com"), "{err}");
        let file = json!({"$ref": "file:///etc/passwd"});
        assert!(compile(None, &file, HashMap::new()).is_err());
    }

    #[test]
    fn rejects_invalid_schemas_with_a_reason() {
        assert!(compile(None, &json!({"type": "no-such-type"}), HashMap::new()).is_err());
        assert!(compile(None, &json!({"minLength": -1}), HashMap::new()).is_err());
        assert!(compile(None, &json!([1]), HashMap::new()).is_err());
        assert!(compile(None, &json!({"pattern": "(unclosed"}), HashMap::new()).is_err());
    }

    #[test]
    fn types_reference_each_other_and_loops_are_refused() {
        let a = json!({"type": "object", "properties": {"b": {"$ref": "urn:metadata:schema:b"}}});
        let b = json!({"type": "object", "properties": {"a": {"$ref": "urn:metadata:schema:a"}}});
        let registered: HashMap<String, Value> = [(type_uri("b"), b)].into_iter().collect();
        let c = compile(Some("a"), &a, registered).expect("mutual references compile");
        assert_eq!(c.references, vec![type_uri("b")]);
        assert!(errors(&c.validator, &json!({"b": {"a": {"b": {}}}})).is_empty());
        assert!(!errors(&c.validator, &json!({"b": {"a": 1}})).is_empty());
        let looping = json!({"$ref": "urn:metadata:schema:a"});
        let err = compile(Some("a"), &looping, HashMap::new()).err().unwrap();
        assert!(err.starts_with("$ref loop"), "{err}");
        assert!(compile(None, &json!({"allOf": [{"$ref": "#"}]}), HashMap::new()).is_err());
    }

    #[test]
    fn pathological_patterns_are_bounded() {
        let c = compiled(json!({"type": "string", "pattern": "^(a+)+\\1b$"}));
        let started = std::time::Instant::now();
        let errs = errors(&c.validator, &json!("a".repeat(40)));
        assert!(started.elapsed().as_secs() < 5);
        assert!(!errs.is_empty());
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(
            truncate(&"x".repeat(400)).chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
        assert_eq!(truncate("short"), "short");
    }
}
