//! The built-in type registrations (DESIGN §4 "Types"): every ObjectStack type across its
//! domains, each with a structural JSON Schema of our own (`src/schemas/<type>.schema.json`,
//! described in `src/schemas/README.md`) and its reference paths (`src/schemas/types.json`).

use serde::Deserialize;
use serde_json::Value;

/// One built-in type registration.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinType {
    pub name: String,
    pub domain: String,
    pub schema: Value,
    /// `[{"path", "type"}]`, as stored in `sys_metadata_type.reference_paths`.
    pub reference_paths: Value,
    pub locked_paths: Vec<String>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    domain: String,
    reference_paths: Value,
    #[serde(default)]
    locked_paths: Vec<String>,
}

macro_rules! schemas {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../schemas/", $name, ".schema.json")))),*]
    };
}

/// `(type, schema text)` of every built-in type.
const SCHEMAS: &[(&str, &str)] = schemas![
    "object",
    "field",
    "object_extension",
    "hook",
    "seed",
    "datasource",
    "mapping",
    "analytics_cube",
    "validation",
    "trigger",
    "view",
    "page",
    "app",
    "dashboard",
    "report",
    "dataset",
    "action",
    "theme",
    "flow",
    "workflow",
    "webhook",
    "state_machine",
    "approval",
    "job",
    "translation",
    "email_template",
    "book",
    "api",
    "connector",
    "router",
    "function",
    "service",
    "permission",
    "position",
    "capability",
    "sharing_rule",
    "profile",
    "role",
    "agent",
    "rag_pipeline",
    "tool",
    "skill",
];

const TYPES: &str = include_str!("../schemas/types.json");

/// Every built-in type, in the order of `src/schemas/types.json`.
pub fn builtin_types() -> Vec<BuiltinType> {
    let entries: Vec<Entry> = serde_json::from_str(TYPES).expect("src/schemas/types.json parses");
    entries
        .into_iter()
        .map(|e| {
            let text = SCHEMAS
                .iter()
                .find(|(name, _)| *name == e.name)
                .map(|(_, text)| *text)
                .unwrap_or_else(|| panic!("no schema file for built-in type {}", e.name));
            BuiltinType {
                schema: serde_json::from_str(text).expect("built-in schema parses"),
                name: e.name,
                domain: e.domain,
                reference_paths: e.reference_paths,
                locked_paths: e.locked_paths,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::compile;
    use std::collections::HashMap;

    #[test]
    fn every_type_has_a_schema_that_compiles() {
        let types = builtin_types();
        assert_eq!(types.len(), SCHEMAS.len());
        for t in &types {
            assert!(
                compile(Some(&t.name), &t.schema, HashMap::new()).is_ok(),
                "schema of {} compiles",
                t.name
            );
            assert!(t.reference_paths.is_array(), "{}", t.name);
        }
    }

    #[test]
    fn reference_paths_are_pointers_to_registered_types() {
        let types = builtin_types();
        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
        for t in &types {
            for r in t.reference_paths.as_array().unwrap() {
                let path = r["path"].as_str().unwrap();
                assert!(path.starts_with('/'), "{}: {path}", t.name);
                assert!(
                    names.contains(&r["type"].as_str().unwrap()),
                    "{}: {r}",
                    t.name
                );
            }
        }
    }
}
