//! RFC 6902 JSON Patch between two documents (`metadata.diff`), with the `json-patch` crate,
//! bounded: an element-wise diff of long arrays can be many times larger than both
//! documents (an insertion at the head of an array of numbers replaces every element after
//! it: 8 times both documents; 0.1.0 turned two 2 MB documents into a 68 MB patch). When the fine patch is larger than [`bound`] of its documents, a coarse one
//! is returned instead: the object members that differ are replaced (or added, removed)
//! whole, descending only into members that are objects on both sides. The coarse patch is
//! never larger than both documents together, and applying either turns `a` into `b`.

use crate::core::pointer::escape_token;
use serde_json::{json, Map, Value};

/// The most a patch may take, in bytes of JSON text, for documents of `a` and `b` bytes:
/// their sum, and at least 64 KiB (small documents keep their fine diff).
pub fn bound(a: usize, b: usize) -> usize {
    (a + b).max(64 * 1024)
}

/// The JSON Patch that turns `a` into `b`: the fine diff, or the coarse one when the fine
/// one would pass [`bound`].
pub fn diff(a: &Value, b: &Value) -> Value {
    let fine = serde_json::to_value(json_patch::diff(a, b)).expect("a JSON Patch serialises");
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |t| t.len());
    if size(&fine) <= bound(size(a), size(b)) {
        return fine;
    }
    let mut ops = Vec::new();
    coarse(a, b, String::new(), &mut ops);
    Value::Array(ops)
}

fn coarse(a: &Value, b: &Value, pointer: String, ops: &mut Vec<Value>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => members(a, b, &pointer, ops),
        _ if a == b => {}
        _ => ops.push(json!({"op": "replace", "path": pointer, "value": b})),
    }
}

fn members(a: &Map<String, Value>, b: &Map<String, Value>, pointer: &str, ops: &mut Vec<Value>) {
    for (key, old) in a {
        let path = format!("{pointer}/{}", escape_token(key));
        match b.get(key) {
            None => ops.push(json!({"op": "remove", "path": path})),
            Some(new) => coarse(old, new, path, ops),
        }
    }
    for (key, new) in b {
        if !a.contains_key(key) {
            let path = format!("{pointer}/{}", escape_token(key));
            ops.push(json!({"op": "add", "path": path, "value": new}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(a: &Value, patch: &Value) -> Value {
        let mut doc = a.clone();
        let patch: json_patch::Patch = serde_json::from_value(patch.clone()).unwrap();
        json_patch::patch(&mut doc, &patch).unwrap();
        doc
    }

    #[test]
    fn small_documents_keep_the_fine_diff() {
        let a = json!({"a": [1, 2], "b": {"c": "x"}, "d": 1});
        let b = json!({"a": [1, 3], "b": {}, "e": null});
        let patch = diff(&a, &b);
        assert_eq!(
            patch,
            serde_json::to_value(json_patch::diff(&a, &b)).unwrap()
        );
        assert_eq!(apply(&a, &patch), b);
    }

    #[test]
    fn an_insertion_at_the_head_of_a_long_array_gets_a_bounded_patch_that_still_applies() {
        // The element-wise diff replaces every element: 8 times both documents here.
        let a =
            json!({"label": "A", "values": (0..100_000).collect::<Vec<u32>>(), "keep": {"x": 1}});
        let b = json!({"label": "B", "values": (0..100_001).map(|i| i.max(1) - 1).collect::<Vec<u32>>(), "keep": {"x": 1}});
        let size = |v: &Value| serde_json::to_string(v).unwrap().len();
        let fine = size(&serde_json::to_value(json_patch::diff(&a, &b)).unwrap());
        let patch = diff(&a, &b);
        assert!(
            fine > bound(size(&a), size(&b)),
            "the fine diff ({fine}) is the large one"
        );
        assert!(size(&patch) <= size(&b) + 100, "{} bytes", size(&patch));
        assert_eq!(apply(&a, &patch), b);
        // Only what differs is in it: the label and the array, not "keep".
        assert_eq!(patch.as_array().unwrap().len(), 2);
    }
}
