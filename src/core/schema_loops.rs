//! `$ref` loops in JSON Schemas: a schema whose references lead back to themselves without
//! descending into the instance (`{"$ref": "#"}`, two types' schemas that `$ref` each
//! other, an `allOf` that returns to its parent) would recurse for ever on one value; the
//! validator gives up and then accepts every document. They are refused when a schema is
//! registered ([`find_loop`], used by `crate::core::schema::compile`).
//!
//! A schema node applies to the same instance as the nodes it reaches through `$ref`,
//! `allOf`, `anyOf`, `oneOf`, `not`, `if`, `then`, `else` and `dependentSchemas`; a cycle
//! of those is a loop. Keywords that descend (`properties`, `items`, ...) break a cycle:
//! recursion through them ends with the document.

use serde_json::Value;
use std::collections::HashMap;

/// A node: (the document's URI, the JSON Pointer of the subschema in it).
type Node = (String, String);

/// The URI of the schema being registered, in [`find_loop`]'s documents.
pub const OWN: &str = "";

/// The first loop found, described as the chain of nodes (`uri#pointer -> ...`), or `None`.
/// `documents` maps URIs to schemas; [`OWN`] is the schema being registered, whose every
/// subschema is a starting point. References that do not resolve to a JSON Pointer in a
/// known document (anchors, unknown URIs) are left to the validator.
pub fn find_loop(documents: &HashMap<String, Value>) -> Option<String> {
    let own = documents.get(OWN)?;
    let mut state: HashMap<Node, u8> = HashMap::new();
    let mut starts = Vec::new();
    collect_subschemas(own, String::new(), &mut starts);
    for pointer in starts {
        let mut stack = Vec::new();
        if let Some(chain) = visit(documents, (OWN.to_owned(), pointer), &mut state, &mut stack) {
            return Some(chain);
        }
    }
    None
}

/// Every object in `value`, by pointer (each may be a subschema that starts a loop).
fn collect_subschemas(value: &Value, pointer: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            out.push(pointer.clone());
            for (k, v) in map {
                collect_subschemas(v, format!("{pointer}/{}", escape(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_subschemas(v, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn escape(token: &str) -> String {
    crate::core::pointer::escape_token(token)
}

/// Depth-first search; state 1: on the stack, 2: done.
fn visit(
    documents: &HashMap<String, Value>,
    node: Node,
    state: &mut HashMap<Node, u8>,
    stack: &mut Vec<Node>,
) -> Option<String> {
    match state.get(&node) {
        Some(2) => return None,
        Some(1) => {
            let from = stack.iter().position(|n| *n == node).unwrap_or(0);
            let mut chain: Vec<String> = stack[from..].iter().map(show).collect();
            chain.push(show(&node));
            return Some(chain.join(" -> "));
        }
        _ => {}
    }
    let schema = documents.get(&node.0).and_then(|d| d.pointer(&node.1))?;
    state.insert(node.clone(), 1);
    stack.push(node.clone());
    for next in same_instance(&node, schema) {
        if let Some(chain) = visit(documents, next, state, stack) {
            return Some(chain);
        }
    }
    stack.pop();
    state.insert(node, 2);
    None
}

fn show(node: &Node) -> String {
    let uri = if node.0 == OWN { "" } else { &node.0 };
    format!("{uri}#{}", node.1)
}

/// The nodes a subschema applies to the same instance.
fn same_instance(node: &Node, schema: &Value) -> Vec<Node> {
    let Value::Object(map) = schema else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let here = |suffix: String| (node.0.clone(), format!("{}{suffix}", node.1));
    for keyword in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(items)) = map.get(keyword) {
            out.extend((0..items.len()).map(|i| here(format!("/{keyword}/{i}"))));
        }
    }
    for keyword in ["not", "if", "then", "else"] {
        if map.get(keyword).is_some_and(Value::is_object) {
            out.push(here(format!("/{keyword}")));
        }
    }
    if let Some(Value::Object(deps)) = map.get("dependentSchemas") {
        out.extend(
            deps.keys()
                .map(|k| here(format!("/dependentSchemas/{}", escape(k)))),
        );
    }
    if let Some(Value::String(reference)) = map.get("$ref") {
        if let Some(target) = resolve(&node.0, reference) {
            out.push(target);
        }
    }
    out
}

/// The node a `$ref` names, when it is a JSON Pointer fragment (or none) of a document.
fn resolve(base: &str, reference: &str) -> Option<Node> {
    let (uri, fragment) = match reference.split_once('#') {
        Some((uri, fragment)) => (uri, fragment),
        None => (reference, ""),
    };
    if !(fragment.is_empty() || fragment.starts_with('/')) {
        return None; // an anchor
    }
    let uri = if uri.is_empty() { base } else { uri };
    let fragment = fragment.replace("%25", "%").replace("%22", "\"");
    Some((uri.to_owned(), fragment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn own(schema: Value) -> HashMap<String, Value> {
        [(OWN.to_owned(), schema)].into_iter().collect()
    }

    #[test]
    fn loops_that_stay_on_one_instance_are_found() {
        assert_eq!(
            find_loop(&own(json!({"$ref": "#"}))).as_deref(),
            Some("# -> #")
        );
        let nested = json!({"properties": {"a": {"$ref": "#/properties/a"}}});
        assert!(find_loop(&own(nested)).unwrap().contains("/properties/a"));
        let through_all_of = json!({"$defs": {"x": {"allOf": [{"$ref": "#/$defs/y"}]}, "y": {"not": {"$ref": "#/$defs/x"}}}});
        assert!(find_loop(&own(through_all_of)).is_some());
        // Two types that reference each other, by URN.
        let mut docs = own(json!({"$ref": "urn:metadata:schema:b"}));
        docs.insert(
            "urn:metadata:schema:b".into(),
            json!({"allOf": [{"$ref": "urn:metadata:schema:a"}]}),
        );
        docs.insert(
            "urn:metadata:schema:a".into(),
            json!({"$ref": "urn:metadata:schema:b"}),
        );
        assert!(find_loop(&docs).is_some());
    }

    #[test]
    fn recursion_through_the_document_is_no_loop() {
        let tree = json!({"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}});
        assert_eq!(find_loop(&own(tree)), None);
        let defs = json!({"$defs": {"name": {"type": "string"}}, "properties": {"n": {"$ref": "#/$defs/name"}}});
        assert_eq!(find_loop(&own(defs)), None);
        let mut docs = own(json!({"additionalProperties": {"$ref": "urn:metadata:schema:field"}}));
        docs.insert(
            "urn:metadata:schema:field".into(),
            json!({"properties": {"sub": {"$ref": "urn:metadata:schema:x"}}}),
        );
        assert_eq!(find_loop(&docs), None);
        assert_eq!(find_loop(&own(json!({"$ref": "#anchor"}))), None);
    }
}
