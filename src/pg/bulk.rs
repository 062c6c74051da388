//! `bulk_save(items, continue_on_error)` (DESIGN §4 "Catalog"): the items of a bundle, each
//! saved by the one write path (`crate::pg::write`). Without `continue_on_error` it is all or
//! nothing: the first failure raises its own SQLSTATE, the message naming the item as
//! `/index (type/name)`. With it, each item runs in a subtransaction of its own and the
//! failures are listed.

use crate::core::document::parse_document;
use crate::core::layers::{OnConflict, State, Strategy};
use crate::core::write::{Expectation, Given};
use crate::pg::errors::{raise, raise_document, raise_with};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::{require_name, LayerKey};
use crate::pg::types::type_info;
use crate::pg::write::{save_layer, Save};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::{json, Map, Value};

/// The keys an item may have (those of `save`, `metadata` for the document).
const ITEM_KEYS: &[&str] = &[
    "type",
    "name",
    "metadata",
    "scope",
    "owner",
    "strategy",
    "state",
    "extends",
    "namespace",
    "tags",
    "expected_version",
    "expected_checksum",
    "on_conflict",
    "source",
    "managed_by",
    "package_id",
    "package_version",
    "change_note",
];

fn invalid(message: String) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message,
        None,
    )
}

/// The string at `key` of `item` (absent or null: `None`); 22023 when it is not a string.
fn string<'a>(item: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    match item.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => invalid(format!(
            "{key} must be a string, not {}",
            crate::core::document::json_type_name(other)
        )),
    }
}

/// Saves one item (an object with the keys of [`ITEM_KEYS`]).
fn save_item(client: &mut pgrx::spi::SpiClient<'_>, item: &Value) {
    let Value::Object(item) = item else {
        invalid(format!(
            "item must be a JSON object, not {}",
            crate::core::document::json_type_name(item)
        ))
    };
    if let Some(unknown) = item.keys().find(|k| !ITEM_KEYS.contains(&k.as_str())) {
        invalid(format!(
            "unknown key \"{}\" in item",
            crate::pg::key::truncate(unknown)
        ));
    }
    let info = type_info(crate::pg::errors::required(string(item, "type"), "type"));
    let name = require_name(string(item, "name"), "name");
    let doc = item
        .get("metadata")
        .filter(|d| !d.is_null())
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "metadata must not be NULL".to_owned(),
                None,
            )
        });
    // One text for both: the limits are checked on it, and jsonb is built from it.
    let text = serde_json::to_string(doc).expect("serialising JSON");
    let parsed = parse_document(&text).unwrap_or_else(|e| raise_document(e));
    let doc = JsonbBytes::from_value(&parsed);
    let tags = match item.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(values)) => Some(
            values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    _ => invalid("tags must be an array of strings".to_owned()),
                })
                .collect(),
        ),
        Some(_) => invalid("tags must be an array of strings".to_owned()),
    };
    let expected_version = match item.get("expected_version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .unwrap_or_else(|| invalid("expected_version must be an integer".to_owned())),
        ),
    };
    let expected_checksum = match item.get("expected_checksum") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => invalid("expected_checksum must be a string or null".to_owned()),
    };
    let vocab = |key: &str, default: &str| string(item, key).unwrap_or(default).to_owned();
    let state_text = vocab("state", "active");
    let on_conflict_text = vocab("on_conflict", "update");
    let save = Save {
        key: LayerKey::for_caller(
            Some(&info.name),
            Some(name),
            Some(string(item, "scope").unwrap_or("platform")),
            string(item, "owner"),
        ),
        doc,
        parsed,
        request_state: State::parse(&state_text)
            .filter(|s| *s != State::Archived)
            .unwrap_or_else(|| invalid(format!("unknown state \"{state_text}\""))),
        given: Given {
            strategy: string(item, "strategy").map(|s| {
                Strategy::parse(s).unwrap_or_else(|| invalid(format!("unknown strategy \"{s}\"")))
            }),
            extends: string(item, "extends")
                .map(|e| Some(require_name(Some(e), "extends").to_owned())),
            namespace: string(item, "namespace")
                .map(|n| require_name(Some(n), "namespace").to_owned()),
            tags,
            source: string(item, "source").map(str::to_owned),
            managed_by: string(item, "managed_by").map(str::to_owned),
            package_id: string(item, "package_id").map(str::to_owned),
            package_version: string(item, "package_version").map(str::to_owned),
        },
        on_conflict: OnConflict::parse(&on_conflict_text)
            .unwrap_or_else(|| invalid(format!("unknown on_conflict \"{on_conflict_text}\""))),
        expected: Expectation {
            version: expected_version,
            checksum: expected_checksum,
        },
        note: string(item, "change_note"),
        op: None,
    };
    save_layer(client, &info, save);
}

/// "(type/name)" of an item, for messages.
fn label(item: &Value) -> String {
    match (
        item.get("type").and_then(Value::as_str),
        item.get("name").and_then(Value::as_str),
    ) {
        (Some(t), Some(n)) => format!(" ({t}/{n})"),
        _ => String::new(),
    }
}

/// The report of a caught error: (SQLSTATE, message, detail, hint).
fn report(e: &CaughtError) -> (PgSqlErrorCode, String, Option<String>, Option<String>) {
    let r = match e {
        CaughtError::PostgresError(r)
        | CaughtError::ErrorReport(r)
        | CaughtError::RustPanic { ereport: r, .. } => r,
    };
    (
        r.sql_error_code(),
        r.message().to_owned(),
        r.detail().map(str::to_owned),
        r.hint().map(str::to_owned),
    )
}

/// Runs `f` in a subtransaction: its changes are undone when it raises an ERROR, which is
/// returned; the transaction goes on.
fn in_subtransaction<R>(
    f: impl FnOnce() -> R + std::panic::UnwindSafe,
) -> Result<R, Box<CaughtError>> {
    // SAFETY: the same steps as a PL/pgSQL block with an EXCEPTION clause: begin an internal
    // subtransaction, run, then release it, or on error roll it back, restoring the memory
    // context and resource owner of the caller.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        PgTryBuilder::new(move || {
            let result = f();
            pg_sys::ReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
            Ok(result)
        })
        .catch_others(move |e| {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
            Err(Box::new(e))
        })
        .execute()
    }
}

/// `bulk_save(items, continue_on_error)` (sql/bulk.sql): saves a JSON array of items
/// `{type, name, metadata, scope?, owner?, strategy?, state?, extends?, namespace?, tags?,
/// expected_version?, expected_checksum?, on_conflict?, source?, managed_by?, package_id?,
/// package_version?, change_note?}` and returns `{total, succeeded, failed, errors[]}`.
/// Errors: 22004 NULL items, 22023 not an array; without continue_on_error, the first
/// failure of an item with its own SQLSTATE.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _bulk_save(items: Option<JsonB>, continue_on_error: Option<bool>) -> JsonB {
    crate::pg::errors::refuse_on_standby();
    let items = items
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "items must not be NULL".to_owned(),
                None,
            )
        })
        .0;
    let Value::Array(items) = items else {
        invalid(format!(
            "items must be a JSON array of items, not {}",
            crate::core::document::json_type_name(&items)
        ))
    };
    let total = items.len();
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let save =
            std::panic::AssertUnwindSafe(|| Spi::connect_mut(|client| save_item(client, item)));
        if continue_on_error.unwrap_or(false) {
            if let Err(e) = in_subtransaction(save) {
                let (code, message, detail, _) = report(&e);
                errors.push(json!({
                    "index": i, "pointer": format!("/{i}"),
                    "type": item.get("type"), "name": item.get("name"),
                    "sqlstate": code_text(code), "message": message, "detail": detail,
                }));
            }
        } else {
            PgTryBuilder::new(save)
                .catch_others(|e| {
                    let (code, message, detail, hint) = report(&e);
                    raise_with(
                        code,
                        format!("bulk_save item /{i}{}: {message}", label(item)),
                        detail,
                        hint,
                    )
                })
                .execute();
        }
    }
    JsonB(json!({
        "total": total,
        "succeeded": total - errors.len(),
        "failed": errors.len(),
        "errors": errors,
    }))
}

/// The five-character SQLSTATE of a code.
fn code_text(code: PgSqlErrorCode) -> String {
    // SAFETY: unpack_sql_state returns a static buffer holding the five characters.
    unsafe {
        std::ffi::CStr::from_ptr(pg_sys::unpack_sql_state(code as i32))
            .to_string_lossy()
            .into_owned()
    }
}
