//! Validation functions, wrapped by `metadata.validate`, `metadata.is_valid`,
//! `metadata.register_type` and `metadata.register_schemas` in `sql/types.sql`.

use crate::core::builtin::builtin_types;
use crate::core::document::parse_value;
use crate::core::schema::{compile, errors, SchemaError};
use crate::pg::errors::{raise, raise_document, required};
use crate::pg::types::{registered_schemas, type_info, validator};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;

/// The schema errors of `doc` against the schema of `type_name` (empty: valid, or the
/// type has no schema). Errors: 42704 unknown type, 54000/54001 document limits.
pub fn schema_errors(type_name: &str, doc: &Value) -> Vec<SchemaError> {
    let info = type_info(type_name);
    match validator(&info) {
        Some(v) => errors(&v, doc),
        None => Vec::new(),
    }
}

fn parse(doc: Option<&str>) -> Value {
    parse_value(required(doc, "doc")).unwrap_or_else(|e| raise_document(e))
}

/// `[{instance_path, schema_path, keyword, message}]` of `doc` (text of a jsonb) against the
/// schema of `type`; `[]` when valid. Errors: 22004, 42704, 54000, 54001.
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _validate(type_name: Option<&str>, doc: Option<&str>) -> JsonB {
    let type_name = required(type_name, "type");
    let doc = parse(doc);
    JsonB(Value::Array(
        schema_errors(type_name, &doc)
            .iter()
            .map(SchemaError::to_json)
            .collect(),
    ))
}

/// Whether `doc` satisfies the schema of `type`. Errors: as `_validate`.
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _is_valid(type_name: Option<&str>, doc: Option<&str>) -> bool {
    let type_name = required(type_name, "type");
    let doc = parse(doc);
    let info = type_info(type_name);
    validator(&info).is_none_or(|v| v.is_valid(&doc))
}

/// Raises 22023 with the reason when `schema` (text of a jsonb) is not a usable JSON Schema
/// for type `type_name`: invalid for its draft, or referring to anything but the schemas of
/// registered types (no network or file access).
#[pg_extern(stable, parallel_restricted)]
pub(crate) fn _check_schema(type_name: Option<&str>, schema: Option<&str>) {
    let type_name = required(type_name, "type");
    let schema = parse_value(required(schema, "schema")).unwrap_or_else(|e| raise_document(e));
    let (registered, _) = registered_schemas(type_name);
    if let Err(reason) = compile(Some(type_name), &schema, registered) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid JSON Schema for type \"{type_name}\": {reason}"),
            None,
        )
    }
}

/// The built-in type registrations shipped with the extension (`src/schemas/`).
#[pg_extern(immutable, parallel_safe)]
pub(crate) fn _builtin_types() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(domain, String),
        name!(schema, JsonB),
        name!(reference_paths, JsonB),
        name!(locked_paths, Vec<String>),
    ),
> {
    TableIterator::new(builtin_types().into_iter().map(|t| {
        (
            t.name,
            t.domain,
            JsonB(t.schema),
            JsonB(t.reference_paths),
            t.locked_paths,
        )
    }))
}
