//! References between items (DESIGN §4 "Catalog": dependencies): which items a document
//! names at its type's reference paths, and the order that puts referenced items first.
//! One rule, used by the commit's reference check, the dependency edges the write path
//! keeps, `dependencies`/`dependents`, the delete check and the order of `import`.

use crate::core::pointer::select;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One reference: the document names item `target_name` of type `target_type` at the JSON
/// Pointer `path` (RFC 6901, concrete: no `*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub path: String,
    pub target_type: String,
    pub target_name: String,
}

/// The references of `doc` at `paths` (`(pattern, target type)`, patterns as
/// [`select`] takes them: JSON Pointers with `*` for every member): each string value a
/// pattern selects names an item of the pattern's type; other values (numbers, objects,
/// `null`) name nothing. Sorted by path, then target; no duplicates.
pub fn references(doc: &Value, paths: &[(String, String)]) -> Vec<Reference> {
    let found: BTreeSet<Reference> = paths
        .iter()
        .flat_map(|(pattern, target_type)| {
            select(doc, pattern)
                .into_iter()
                .filter_map(move |(path, value)| {
                    Some(Reference {
                        path,
                        target_type: target_type.clone(),
                        target_name: value.as_str()?.to_owned(),
                    })
                })
        })
        .collect();
    found.into_iter().collect()
}

/// `[{"path", "type"}]` (as `sys_metadata_type.reference_paths` holds them) as `(path,
/// type)` pairs; entries of another shape are skipped (the registration refuses them).
pub fn parse_paths(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some((
                        r["path"].as_str()?.to_owned(),
                        r["type"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The paths at which `refs` name item (`target_type`, `target_name`), in order.
pub fn paths_naming<'a>(
    refs: &'a [Reference],
    target_type: &'a str,
    target_name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    refs.iter()
        .filter(move |r| r.target_type == target_type && r.target_name == target_name)
        .map(|r| r.path.as_str())
}

/// The depth of each node of a reference graph, for loading referenced items first: a
/// node that names no other node of the graph has depth 0, else one more than the deepest
/// node it names. Nodes on a cycle (an object and a view naming each other) get the depth
/// they reach when the cycle is cut at its first revisit, so every node gets a depth.
/// `edges` maps a node to the nodes it names; names of nodes outside the map are ignored.
pub fn depths<K: Ord + Clone>(edges: &BTreeMap<K, Vec<K>>) -> BTreeMap<K, usize> {
    fn visit<K: Ord + Clone>(
        node: &K,
        edges: &BTreeMap<K, Vec<K>>,
        on_path: &mut BTreeSet<K>,
        memo: &mut BTreeMap<K, usize>,
    ) -> usize {
        if let Some(d) = memo.get(node) {
            return *d;
        }
        if !on_path.insert(node.clone()) {
            return 0; // a cycle: cut here
        }
        let mut depth = 0;
        for next in edges.get(node).into_iter().flatten() {
            if edges.contains_key(next) && next != node {
                depth = depth.max(visit(next, edges, on_path, memo) + 1);
            }
        }
        on_path.remove(node);
        memo.insert(node.clone(), depth);
        depth
    }
    let mut memo = BTreeMap::new();
    for node in edges.keys() {
        visit(node, edges, &mut BTreeSet::new(), &mut memo);
    }
    memo
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    }

    #[test]
    fn strings_at_reference_paths_are_references_other_values_are_not() {
        let doc = json!({
            "object": "account",
            "navigation": [{"object": "lead"}, {"object": 7}, {"object": null}, {"object": "lead"}],
            "nested": {"object": {"name": "x"}}
        });
        let refs = references(
            &doc,
            &paths(&[
                ("/object", "object"),
                ("/navigation/*/object", "object"),
                ("/nested/object", "object"),
                ("/missing", "object"),
            ]),
        );
        let got: Vec<(&str, &str)> = refs
            .iter()
            .map(|r| (r.path.as_str(), r.target_name.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/navigation/0/object", "lead"),
                ("/navigation/3/object", "lead"),
                ("/object", "account")
            ]
        );
    }

    #[test]
    fn two_patterns_selecting_one_value_give_one_reference_per_target_type() {
        let doc = json!({"object": "account"});
        let refs = references(
            &doc,
            &paths(&[("/object", "object"), ("/*", "object"), ("/object", "view")]),
        );
        assert_eq!(refs.len(), 2, "{refs:?}");
        assert_eq!(paths_naming(&refs, "object", "account").count(), 1);
        assert_eq!(paths_naming(&refs, "view", "account").count(), 1);
        assert_eq!(paths_naming(&refs, "object", "lead").count(), 0);
    }

    #[test]
    fn reference_paths_parse_and_skip_malformed_entries() {
        let v = json!([{"path": "/object", "type": "object"}, {"path": "/x"}, 7]);
        assert_eq!(
            parse_paths(&v),
            vec![("/object".to_owned(), "object".to_owned())]
        );
        assert!(parse_paths(&json!(null)).is_empty());
    }

    #[test]
    fn depths_put_referenced_nodes_first() {
        let mut edges = BTreeMap::new();
        edges.insert("app", vec!["view", "object", "elsewhere"]);
        edges.insert("view", vec!["object"]);
        edges.insert("object", vec![]);
        let d = depths(&edges);
        assert_eq!((d["object"], d["view"], d["app"]), (0, 1, 2));
    }

    #[test]
    fn depths_terminate_on_cycles_and_self_references() {
        let mut edges = BTreeMap::new();
        edges.insert("a", vec!["b", "a"]);
        edges.insert("b", vec!["a"]);
        edges.insert("c", vec!["c"]);
        let d = depths(&edges);
        assert_eq!(d.len(), 3);
        assert_eq!(d["c"], 0);
        // Visited from a first: the cycle is cut at the edge back to a.
        assert_eq!((d["a"], d["b"]), (2, 1));
    }
}
