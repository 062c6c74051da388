//! Registered types (`metadata.sys_metadata_type`) as the write checks need them, and the
//! per-backend cache of compiled validators. A cached validator is reused while the
//! checksums of its type's schema and of every schema it references are unchanged; they are
//! read on every use, so a schema changed (and committed) by another session is used by the
//! next statement here.

use crate::core::schema::{compile, type_uri};
use crate::pg::context::setting;
use crate::pg::errors::raise;
use crate::pg::statements::{read, TEXT};
use jsonschema::Validator;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What a type's registration says about writes (DESIGN §4 "Types").
#[derive(Debug, Clone)]
pub struct TypeInfo {
    pub name: String,
    /// `strict`, `lenient` or `off`.
    pub validation_mode: String,
    pub locked_paths: Vec<String>,
    /// `(JSON Pointer with *, target type)`.
    pub reference_paths: Vec<(String, String)>,
    /// Strict writes must name existing items at the reference paths.
    pub check_references: bool,
    pub supports_overlay: bool,
    pub allow_runtime_create: bool,
    pub schema_checksum: Option<String>,
}

impl TypeInfo {
    /// Whether writes of this type have their references checked at commit.
    pub fn checks_references(&self) -> bool {
        self.validation_mode == "strict"
            && self.check_references
            && !self.reference_paths.is_empty()
    }
}

/// The registration of `type_name`; raises 42704 undefined_object when there is none.
pub fn type_info(type_name: &str) -> TypeInfo {
    find_type(type_name).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("metadata type \"{type_name}\" is not registered"),
            None,
        )
    })
}

/// The registration of `type_name`, `None` when there is none.
pub fn find_type(type_name: &str) -> Option<TypeInfo> {
    read(
        "types/info",
        || {
            "SELECT validation_mode, locked_paths, reference_paths, check_references, \
                        supports_overlay, allow_runtime_create, schema_checksum \
                 FROM metadata.sys_metadata_type WHERE name OPERATOR(pg_catalog.=) $1"
                .to_owned()
        },
        &[TEXT],
        &[type_name.into()],
        |rows| {
            if rows.is_empty() {
                return None;
            }
            let row = rows.first();
            let refs: Value = row
                .get::<JsonB>(3)
                .ok()
                .flatten()
                .map_or(Value::Null, |j| j.0);
            Some(TypeInfo {
                name: type_name.to_owned(),
                validation_mode: row
                    .get::<String>(1)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "strict".to_owned()),
                locked_paths: row.get::<Vec<String>>(2).ok().flatten().unwrap_or_default(),
                reference_paths: crate::core::references::parse_paths(&refs),
                check_references: row.get::<bool>(4).ok().flatten().unwrap_or(true),
                supports_overlay: row.get::<bool>(5).ok().flatten().unwrap_or(true),
                allow_runtime_create: row.get::<bool>(6).ok().flatten().unwrap_or(true),
                schema_checksum: row.get::<String>(7).ok().flatten(),
            })
        },
    )
}

struct Cached {
    checksum: String,
    /// Referenced types and the schema checksums they had when compiled.
    dependencies: Vec<(String, Option<String>)>,
    validator: Rc<Validator>,
}

thread_local! {
    static VALIDATORS: RefCell<HashMap<String, Cached>> = RefCell::new(HashMap::new());
}

/// Schema checksums of `names` now (absent types map to `None`).
fn schema_checksums(names: &[String]) -> HashMap<String, Option<String>> {
    let rows = crate::pg::statements::read_one::<JsonB>(
        "SELECT coalesce(pg_catalog.jsonb_object_agg(name, schema_checksum), '{}') \
         FROM metadata.sys_metadata_type WHERE name OPERATOR(pg_catalog.=) ANY ($1)",
        &[names.to_vec().into()],
    )
    .map(|j| j.0)
    .unwrap_or(Value::Null);
    names
        .iter()
        .map(|n| (n.clone(), rows[n].as_str().map(str::to_owned)))
        .collect()
}

/// The registered schemas other than `except`, by `urn:metadata:schema:<type>` and by their
/// `$id`, with the type each URI belongs to.
pub fn registered_schemas(except: &str) -> (HashMap<String, Value>, HashMap<String, String>) {
    let all = crate::pg::statements::read_one::<JsonB>(
        "SELECT coalesce(pg_catalog.jsonb_object_agg(name, schema), '{}') FROM metadata.sys_metadata_type \
         WHERE schema IS NOT NULL AND name OPERATOR(pg_catalog.<>) $1",
        &[except.into()],
    )
    .map(|j| j.0)
    .unwrap_or(Value::Null);
    let mut by_uri = HashMap::new();
    let mut owner = HashMap::new();
    for (name, schema) in all.as_object().into_iter().flatten() {
        if let Some(id) = schema.get("$id").and_then(Value::as_str) {
            by_uri.insert(id.trim_end_matches('#').to_owned(), schema.clone());
            owner.insert(id.trim_end_matches('#').to_owned(), name.clone());
        }
        by_uri.insert(type_uri(name), schema.clone());
        owner.insert(type_uri(name), name.clone());
    }
    (by_uri, owner)
}

thread_local! {
    /// This backend's validator cache hits and schema compiles (`metadata.stats`).
    static VALIDATOR_COUNTS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// This backend's validator cache (hits, compiles) since it started.
pub fn validator_counts() -> (u64, u64) {
    VALIDATOR_COUNTS.with(std::cell::Cell::get)
}

/// The compiled validator of a type, `None` when the type has no schema. Raises 22023 when
/// the stored schema no longer compiles (e.g. a type it references was removed).
/// `SET metadata.validator_cache = off` compiles the schema on every use (to measure or
/// rule out the cache).
pub fn validator(info: &TypeInfo) -> Option<Rc<Validator>> {
    let checksum = info.schema_checksum.clone()?;
    let use_cache = setting(c"metadata.validator_cache").is_none_or(|v| v != "off");
    let cached = VALIDATORS.with(|v| {
        if !use_cache {
            return None;
        }
        let v = v.borrow();
        let hit = v.get(&info.name).filter(|c| c.checksum == checksum)?;
        let names: Vec<String> = hit.dependencies.iter().map(|(n, _)| n.clone()).collect();
        let now = if names.is_empty() {
            HashMap::new()
        } else {
            schema_checksums(&names)
        };
        hit.dependencies
            .iter()
            .all(|(n, sum)| now.get(n) == Some(sum))
            .then(|| Rc::clone(&hit.validator))
    });
    if cached.is_some() {
        VALIDATOR_COUNTS.with(|c| c.set((c.get().0 + 1, c.get().1)));
        return cached;
    }
    VALIDATOR_COUNTS.with(|c| c.set((c.get().0, c.get().1 + 1)));
    let schema = crate::pg::statements::read_one::<JsonB>(
        "SELECT schema FROM metadata.sys_metadata_type WHERE name OPERATOR(pg_catalog.=) $1",
        &[info.name.as_str().into()],
    )?
    .0;
    let (registered, owner) = registered_schemas(&info.name);
    let compiled = compile(Some(&info.name), &schema, registered).unwrap_or_else(|reason| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "the schema of type \"{}\" is not usable: {reason}",
                info.name
            ),
            None,
        )
    });
    let mut dependencies: Vec<String> = compiled
        .references
        .iter()
        .filter_map(|uri| owner.get(uri).cloned())
        .collect();
    dependencies.sort();
    dependencies.dedup();
    let sums = schema_checksums(&dependencies);
    let validator = Rc::new(compiled.validator);
    VALIDATORS.with(|v| {
        v.borrow_mut().insert(
            info.name.clone(),
            Cached {
                checksum,
                dependencies: dependencies
                    .into_iter()
                    .map(|n| (n.clone(), sums[&n].clone()))
                    .collect(),
                validator: Rc::clone(&validator),
            },
        )
    });
    Some(validator)
}
