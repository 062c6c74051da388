//! The write path (DESIGN §4 "Items", "Concurrency"): `save`, `publish`, `delete`,
//! `rollback` and `bulk_save` each cross from SQL into Rust once. A write
//! 1. checks its arguments and reads the type's registration;
//! 2. locks the rows of its layer key (one `SELECT … FOR UPDATE`);
//! 3. asks `crate::core::write` what to do (insert, update, unchanged, skip, or the error);
//! 4. resolves the item once, with the new layer substituted in memory, for what is below
//!    it (its `base_checksum`), the type's rules and the schema of the effective document
//!    (`crate::pg::checks`), hashing the new document once;
//! 5. writes with one statement, telling the write trigger what it has already done
//!    (`crate::pg::intent`), so the trigger neither hashes nor checks again.
//!
//! Row level security, the history trigger and the change feed stay in the database, so a
//! plain SQL write gets every guarantee too (the trigger runs the same checks for it).

use crate::core::canonical::checksum;
use crate::core::layers::{Layer, LayerMeta, OnConflict, State, Strategy};
use crate::core::write::{
    plan_delete, plan_publish, plan_save, Attributes, Expectation, Given, KeyRows, PublishPlan,
    SavePlan, SaveRequest, Stored, WriteError,
};
use crate::pg::checks::{check_layer, require_writable, NewLayer};
use crate::pg::errors::{raise, raise_document, raise_with};
use crate::pg::intent::{during, Intent, Op};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::{require_name, truncate, LayerKey};
use crate::pg::statements::{run, INT4, JSONB, TEXT, TEXT_ARRAY};
use crate::pg::types::{type_info, TypeInfo};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::{AllocatedByRust, PgSqlErrorCode};
use serde_json::Value;

/// A row of `metadata.sys_metadata`, as the functions return it.
pub type Row = PgHeapTuple<'static, AllocatedByRust>;

/// The columns a write reads of each row of its key, in this order.
const KEY_COLUMNS: &str = "m.id::pg_catalog.text, m.state, m.version, m.checksum, m.strategy, \
     m.extends, m.namespace, m.tags, m.source, m.managed_by, m.package_id, m.package_version, \
     m.base_checksum, m.base_version";

/// Locks and reads the rows of `key`, newest first. One statement per shape of the key
/// (global or tenant, with or without owner), each matching a whole index key.
pub fn lock_rows(client: &mut SpiClient<'_>, key: &LayerKey) -> KeyRows<String> {
    let shape = (key.tenant.is_some(), key.owner.is_some());
    let name = format!("lock_rows/{}/{}", shape.0, shape.1);
    let sql = || {
        let tenant = if shape.0 {
            "m.tenant_id OPERATOR(pg_catalog.=) $4"
        } else {
            "m.tenant_id IS NULL"
        };
        let owner = if shape.1 {
            "m.owner OPERATOR(pg_catalog.=) $5"
        } else {
            "m.owner IS NULL"
        };
        format!(
            "SELECT {KEY_COLUMNS} FROM metadata.sys_metadata m \
             WHERE m.type OPERATOR(pg_catalog.=) $1 AND m.name OPERATOR(pg_catalog.=) $2 \
               AND m.scope OPERATOR(pg_catalog.=) $3 AND {tenant} AND {owner} \
             ORDER BY m.updated_at DESC, m.id FOR UPDATE"
        )
    };
    let args: [DatumWithOid; 5] = [
        key.type_name.as_str().into(),
        key.name.as_str().into(),
        key.scope.as_str().into(),
        key.tenant.as_deref().into(),
        key.owner.as_deref().into(),
    ];
    run(client, &name, sql, &[TEXT; 5], &args, |table| {
        let mut rows = Vec::new();
        for row in table {
            rows.push(stored(&row));
        }
        KeyRows::from_rows(rows)
    })
}

/// One row of [`KEY_COLUMNS`].
fn stored(row: &pgrx::spi::SpiHeapTupleData<'_>) -> Stored<String> {
    let text = |i: usize| row.get::<String>(i).expect("a text column");
    let vocabulary = |i: usize| text(i).unwrap_or_default();
    let state = vocabulary(2);
    let strategy = vocabulary(5);
    Stored {
        id: text(1).expect("an id"),
        state: State::parse(&state).unwrap_or_else(|| panic!("stored state {state:?}")),
        version: row.get::<i32>(3).expect("version").unwrap_or(0),
        checksum: vocabulary(4),
        attributes: Attributes {
            strategy: Strategy::parse(&strategy)
                .unwrap_or_else(|| panic!("stored strategy {strategy:?}")),
            extends: text(6),
            namespace: vocabulary(7),
            tags: row.get::<Vec<String>>(8).expect("tags").unwrap_or_default(),
            source: vocabulary(9),
            managed_by: vocabulary(10),
            package_id: text(11),
            package_version: text(12),
        },
        base_checksum: text(13),
        base_version: row.get::<i32>(14).expect("base_version"),
    }
}

/// The row with `id`, as the functions return it.
fn row_by_id(client: &mut SpiClient<'_>, id: &str) -> Row {
    run(
        client,
        "row_by_id",
        || {
            "SELECT m FROM metadata.sys_metadata m WHERE m.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid"
                .to_owned()
        },
        &[TEXT],
        &[id.into()],
        |table| returned_row(table, "the row"),
    )
}

fn returned_row(table: pgrx::spi::SpiTupleTable<'_>, what: &str) -> Row {
    table
        .first()
        .get::<Row>(1)
        .expect("a row")
        .unwrap_or_else(|| panic!("{what} was not returned"))
}

/// Raises the ERROR of a refused write of `what`.
pub fn raise_write(what: &str, err: WriteError) -> ! {
    let (code, hint) = match &err {
        WriteError::Exists { .. } => (
            PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            "Use on_conflict => 'update' or 'replace' to change it.",
        ),
        WriteError::VersionMismatch { .. } | WriteError::ChecksumMismatch { .. } => (
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            "Read the layer again and retry with what you read.",
        ),
        WriteError::NoDraft => (PgSqlErrorCode::ERRCODE_NO_DATA_FOUND, ""),
        WriteError::BaseMoved { .. } => (
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            "Save the draft again over the current live layer, or publish with force => true.",
        ),
    };
    let message = match err {
        WriteError::NoDraft => format!("no draft of {what} to publish"),
        err => format!("{what}: {err}"),
    };
    raise_with(
        code,
        message,
        None,
        Some(hint.to_owned()).filter(|h| !h.is_empty()),
    )
}

/// `value` as one of `T`'s SQL spellings, or ERROR 22004 (NULL) / 22023 naming `what`.
fn vocabulary<T>(
    value: Option<&str>,
    what: &str,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> T {
    let text = crate::pg::errors::required(value, what);
    parse(text).unwrap_or_else(|| {
        raise_with(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown {what} \"{}\"", truncate(text)),
            None,
            Some(format!("Use one of: {allowed}.")),
        )
    })
}

/// The state a save may write (a save never archives: that is `delete`).
fn save_state(value: Option<&str>) -> State {
    vocabulary(
        value,
        "state",
        |s| State::parse(s).filter(|s| *s != State::Archived),
        "active, draft, deprecated",
    )
}

/// The expectation of a call: `expected_version`, and `expected_checksum` where `'*'` (the
/// SQL default) is "not given" and NULL is "must not exist".
fn expectation(version: Option<i32>, checksum: Option<&str>) -> Expectation {
    Expectation {
        version,
        checksum: match checksum {
            Some("*") => None,
            other => Some(other.map(str::to_owned)),
        },
    }
}

/// Everything one save needs.
pub struct Save<'a> {
    pub key: LayerKey,
    pub doc: JsonbBytes,
    /// The document parsed (limits checked): hashed here, and reused by the checks.
    pub parsed: Value,
    pub request_state: State,
    pub given: Given,
    pub on_conflict: OnConflict,
    pub expected: Expectation,
    pub note: Option<&'a str>,
    pub op: Option<Op>,
}

/// Saves one layer (see the module documentation) and returns its row.
pub fn save_layer(client: &mut SpiClient<'_>, info: &TypeInfo, save: Save<'_>) -> Row {
    require_writable(&save.key);
    let what = save.key.describe();
    let request = SaveRequest {
        checksum: checksum(&save.parsed),
        state: save.request_state,
        given: save.given,
        on_conflict: save.on_conflict,
        expected: save.expected,
    };
    let mut parsed = Some(save.parsed);
    let doc = save.doc;
    // A concurrent save may create the layer between our read and our insert: then the
    // rows are read again once (the same conflict again would be a row this transaction
    // cannot see).
    for attempt in 0..2 {
        let rows = lock_rows(client, &save.key);
        let write = match plan_save(&request, &rows) {
            Ok(SavePlan::Skip(row)) => return row_by_id(client, &row.id),
            Ok(SavePlan::Write(write)) => write,
            Err(e) => raise_write(&what, e),
        };
        let preview = request.state == State::Draft;
        let new = NewLayer {
            layer: Layer {
                meta: LayerMeta {
                    rank: save.key.rank(),
                    scope: save.key.scope,
                    tenant_id: save.key.tenant.clone(),
                    owner: save.key.owner.clone(),
                    strategy: write.attributes.strategy,
                    extends: write.attributes.extends.clone(),
                    state: request.state,
                    version: 0,
                    checksum: request.checksum.clone(),
                    base_checksum: None,
                },
                doc: doc.clone(),
            },
            // The first attempt uses the caller's parse; a retry (rare) parses again.
            parsed: parsed
                .take()
                .unwrap_or_else(|| doc.to_document().unwrap_or_else(|e| raise_document(e))),
        };
        let checked = check_layer(
            info,
            &save.key,
            write.attributes.extends.as_deref(),
            preview,
            Some(new),
            Some(&|base: Option<&str>| write.unchanged(&request, base)),
        );
        let Some(base_checksum) = checked else {
            // Unchanged: nothing is written, not even the version.
            return row_by_id(client, &write.target.expect("an unchanged target").id);
        };
        let intent = Intent {
            tenant: save.key.tenant.clone(),
            type_name: save.key.type_name.clone(),
            name: save.key.name.clone(),
            scope: save.key.scope,
            owner: save.key.owner.clone(),
            strategy: write.attributes.strategy,
            extends: write.attributes.extends.clone(),
            doc: doc.clone(),
            checksum: request.checksum.clone(),
            base_checksum,
            base_version: write.base_version,
            check_references: info.checks_references(),
            reference_paths: info.reference_paths.clone(),
        };
        let a = &write.attributes;
        let written = during(Some(intent), save.op, save.note, || match write.target {
            Some(target) => Some(update_row(client, &target.id, &doc, request.state, a)),
            None => insert_row(client, &save.key, &doc, request.state, a),
        });
        if let Some(row) = written {
            return row;
        }
        if attempt == 1 {
            raise_with(
                PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                format!("concurrent creation of {what}"),
                None,
                Some("Retry the transaction.".to_owned()),
            );
        }
    }
    unreachable!("a save writes, returns or raises within two attempts")
}

/// The attribute parameters of the write statements ($5..$12 of insert, $4..$11 of update).
fn attribute_args<'a>(a: &'a Attributes) -> [DatumWithOid<'a>; 8] {
    [
        a.strategy.as_str().into(),
        a.extends.as_deref().into(),
        a.namespace.as_str().into(),
        a.tags.clone().into(),
        a.source.as_str().into(),
        a.managed_by.as_str().into(),
        a.package_id.as_deref().into(),
        a.package_version.as_deref().into(),
    ]
}

const ATTRIBUTE_TYPES: [pgrx::PgOid; 8] = [TEXT, TEXT, TEXT, TEXT_ARRAY, TEXT, TEXT, TEXT, TEXT];

/// Inserts a new row; `None` when a concurrent save created the layer first.
fn insert_row(
    client: &mut SpiClient<'_>,
    key: &LayerKey,
    doc: &JsonbBytes,
    state: State,
    a: &Attributes,
) -> Option<Row> {
    let mut args: Vec<DatumWithOid> = vec![
        key.tenant.as_deref().into(),
        key.type_name.as_str().into(),
        key.name.as_str().into(),
        key.scope.as_str().into(),
        key.owner.as_deref().into(),
        doc.clone().into(),
        state.as_str().into(),
    ];
    args.extend(attribute_args(a));
    let mut types = vec![TEXT, TEXT, TEXT, TEXT, TEXT, JSONB, TEXT];
    types.extend(ATTRIBUTE_TYPES);
    run(
        client,
        "insert_row",
        || {
            "INSERT INTO metadata.sys_metadata AS m (tenant_id, type, name, scope, owner, metadata, \
                 state, strategy, extends, namespace, tags, source, managed_by, package_id, \
                 package_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT DO NOTHING RETURNING m"
                .to_owned()
        },
        &types,
        &args,
        |table| (!table.is_empty()).then(|| returned_row(table, "the inserted row")),
    )
}

/// Writes the document, state and attributes into the row `id`.
fn update_row(
    client: &mut SpiClient<'_>,
    id: &str,
    doc: &JsonbBytes,
    state: State,
    a: &Attributes,
) -> Row {
    let mut args: Vec<DatumWithOid> = vec![id.into(), doc.clone().into(), state.as_str().into()];
    args.extend(attribute_args(a));
    let mut types = vec![TEXT, JSONB, TEXT];
    types.extend(ATTRIBUTE_TYPES);
    run(
        client,
        "update_row",
        || {
            "UPDATE metadata.sys_metadata AS m SET metadata = $2, state = $3, strategy = $4, \
                 extends = $5, namespace = $6, tags = $7, source = $8, managed_by = $9, \
                 package_id = $10, package_version = $11 \
             WHERE m.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid RETURNING m"
                .to_owned()
        },
        &types,
        &args,
        |table| returned_row(table, "the updated row"),
    )
}

/// The document bytes of the row `id`.
fn document_of(client: &mut SpiClient<'_>, id: &str) -> JsonbBytes {
    run(
        client,
        "document_of",
        || {
            "SELECT m.metadata FROM metadata.sys_metadata m \
             WHERE m.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid"
                .to_owned()
        },
        &[TEXT],
        &[id.into()],
        |table| {
            table
                .first()
                .get::<JsonbBytes>(1)
                .expect("a document")
                .expect("the row's document")
        },
    )
}

/// The registration of a type for a write: 22004 NULL, 42704 not registered.
fn writable_type(type_name: Option<&str>) -> TypeInfo {
    type_info(crate::pg::errors::required(type_name, "type"))
}

/// The document argument of a write: 22004 NULL, 22023 not an object, 54000/54001 limits.
fn document(doc: Option<JsonbBytes>) -> (JsonbBytes, Value) {
    let doc = doc.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "doc must not be NULL".to_owned(),
            None,
        )
    });
    let parsed = doc.to_document().unwrap_or_else(|e| raise_document(e));
    (doc, parsed)
}

/// `save(...)` (sql/items.sql): writes one layer of (`type`, `name`) for the caller's tenant
/// and returns the stored row. Errors: 22004, 22023, 42602, 42704, 54000/54001, 23505,
/// 40001, 42P19, 23503, 0A000, 23514, 42501.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _save(
    type_name: Option<&str>,
    name: Option<&str>,
    doc: Option<JsonbBytes>,
    scope: Option<&str>,
    owner: Option<&str>,
    strategy: Option<&str>,
    expected_version: Option<i32>,
    on_conflict: Option<&str>,
    state: Option<&str>,
    extends: Option<&str>,
    namespace: Option<&str>,
    tags: Option<Vec<Option<String>>>,
    source: Option<&str>,
    managed_by: Option<&str>,
    package_id: Option<&str>,
    package_version: Option<&str>,
    change_note: Option<&str>,
    expected_checksum: Option<&str>,
) -> pgrx::composite_type!('static, "metadata.sys_metadata") {
    crate::pg::errors::refuse_on_standby();
    let info = writable_type(type_name);
    let name = require_name(name, "name");
    let (doc, parsed) = document(doc);
    let given = Given {
        strategy: strategy
            .map(|s| vocabulary(Some(s), "strategy", Strategy::parse, "merge, replace")),
        extends: extends.map(|e| Some(require_name(Some(e), "extends").to_owned())),
        namespace: namespace.map(|n| require_name(Some(n), "namespace").to_owned()),
        tags: tags.map(|t| tag_list(t.into_iter())),
        source: source.map(str::to_owned),
        managed_by: managed_by.map(str::to_owned),
        package_id: package_id.map(str::to_owned),
        package_version: package_version.map(str::to_owned),
    };
    let save = Save {
        key: LayerKey::for_caller(Some(&info.name), Some(name), scope, owner),
        doc,
        parsed,
        request_state: save_state(state),
        given,
        on_conflict: vocabulary(
            on_conflict,
            "on_conflict",
            OnConflict::parse,
            "update, error, skip, replace",
        ),
        expected: expectation(expected_version, expected_checksum),
        note: change_note,
        op: None,
    };
    Spi::connect_mut(|client| save_layer(client, &info, save))
}

/// Tags: text values, none of them NULL (22004 otherwise).
pub fn tag_list(tags: impl Iterator<Item = Option<String>>) -> Vec<String> {
    tags.map(|t| {
        t.unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "tags must not contain NULL".to_owned(),
                None,
            )
        })
    })
    .collect()
}

/// `publish(...)`: promotes the draft layer of (`type`, `name`) at `scope` to live and
/// returns the live row. One change of the item: one history row (op publish), one event.
/// `change_note` goes to the history row. Errors: P0002 no draft, 40001 expectation (of the
/// draft) or live layer changed since the draft was saved (unless `force`), and those of
/// the checks.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _publish(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    owner: Option<&str>,
    expected_version: Option<i32>,
    force: Option<bool>,
    expected_checksum: Option<&str>,
    change_note: Option<&str>,
) -> pgrx::composite_type!('static, "metadata.sys_metadata") {
    crate::pg::errors::refuse_on_standby();
    let info = writable_type(type_name);
    let key = LayerKey::for_caller(Some(&info.name), name, scope, owner);
    let what = key.describe();
    let expected = expectation(expected_version, expected_checksum);
    Spi::connect_mut(|client| {
        let rows = lock_rows(client, &key);
        let plan = plan_publish(&rows, &expected, force.unwrap_or(false))
            .unwrap_or_else(|e| raise_write(&what, e));
        let draft = match &plan {
            PublishPlan::Activate(draft) | PublishPlan::Replace { draft, .. } => *draft,
        };
        let doc = document_of(client, &draft.id);
        let parsed = doc.to_document().unwrap_or_else(|e| raise_document(e));
        let attributes = &draft.attributes;
        let new = NewLayer {
            layer: Layer {
                meta: LayerMeta {
                    rank: key.rank(),
                    scope: key.scope,
                    tenant_id: key.tenant.clone(),
                    owner: key.owner.clone(),
                    strategy: attributes.strategy,
                    extends: attributes.extends.clone(),
                    state: State::Active,
                    version: 0,
                    checksum: draft.checksum.clone(),
                    base_checksum: None,
                },
                doc: doc.clone(),
            },
            parsed,
        };
        let base_checksum = check_layer(
            &info,
            &key,
            attributes.extends.as_deref(),
            false,
            Some(new),
            None,
        )
        .expect("a publish is a change");
        let intent = Intent {
            tenant: key.tenant.clone(),
            type_name: key.type_name.clone(),
            name: key.name.clone(),
            scope: key.scope,
            owner: key.owner.clone(),
            strategy: attributes.strategy,
            extends: attributes.extends.clone(),
            doc: doc.clone(),
            checksum: draft.checksum.clone(),
            base_checksum,
            base_version: None,
            check_references: info.checks_references(),
            reference_paths: info.reference_paths.clone(),
        };
        match plan {
            PublishPlan::Activate(draft) => {
                during(Some(intent), Some(Op::Publish), change_note, || {
                    update_row(client, &draft.id, &doc, State::Active, &draft.attributes)
                })
            }
            PublishPlan::Replace { live, draft } => {
                let row = during(Some(intent), Some(Op::Publish), change_note, || {
                    update_row(client, &live.id, &doc, State::Active, &draft.attributes)
                });
                during(None, Some(Op::Skip), None, || delete_row(client, &draft.id));
                row
            }
        }
    })
}

/// Deletes the row `id` (the draft row a publish has copied into the live row).
fn delete_row(client: &mut SpiClient<'_>, id: &str) {
    run(
        client,
        "delete_row",
        || {
            "DELETE FROM metadata.sys_metadata m WHERE m.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid"
                .to_owned()
        },
        &[TEXT],
        &[id.into()],
        |_| (),
    )
}

/// `delete(...)`: archives the live layer of (`type`, `name`) at `scope` (version + 1; the
/// row and its history are kept; a later save revives it). Returns false when there was
/// none. When that leaves items naming (`type`, `name`) at a reference path while it no
/// longer exists for them (DESIGN §4 "Catalog"), raises 23503 with them in DETAIL, unless
/// `cascade` (then a NOTICE lists them). Errors: 22004, 22023, 42704, 40001, 23503.
#[pg_extern(volatile, parallel_unsafe)]
pub(crate) fn _delete(
    type_name: Option<&str>,
    name: Option<&str>,
    scope: Option<&str>,
    owner: Option<&str>,
    expected_version: Option<i32>,
    expected_checksum: Option<&str>,
    cascade: Option<bool>,
) -> bool {
    crate::pg::errors::refuse_on_standby();
    let info = writable_type(type_name);
    let key = LayerKey::for_caller(Some(&info.name), name, scope, owner);
    let expected = expectation(expected_version, expected_checksum);
    Spi::connect_mut(|client| {
        let rows = lock_rows(client, &key);
        match plan_delete(&rows, &expected).unwrap_or_else(|e| raise_write(&key.describe(), e)) {
            None => false,
            Some(live) => {
                let archive = || {
                    run(
                        client,
                        "archive_row",
                        || {
                            "UPDATE metadata.sys_metadata AS m SET state = 'archived' \
                             WHERE m.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid"
                                .to_owned()
                        },
                        &[TEXT],
                        &[live.id.as_str().into()],
                        |_| (),
                    )
                };
                // Then refuse (or, cascading, report) a delete that leaves dependents
                // naming a missing item (crate::pg::dependencies; for plain SQL, the
                // history trigger does it).
                let cascade = cascade.unwrap_or(false);
                crate::pg::intent::deleting(cascade, archive);
                crate::pg::dependencies::check_delete(&key, cascade);
                true
            }
        }
    })
}

/// `rollback(...)`: writes a new version of a layer equal to an old one (op revert; its
/// document, strategy and extends; the other attributes are kept). Nothing changes when it
/// already equals it. Errors: P0002 no such version, and those of save.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe, requires = ["schema"])]
pub(crate) fn _rollback(
    type_name: Option<&str>,
    name: Option<&str>,
    version: Option<i32>,
    note: Option<&str>,
    scope: Option<&str>,
    owner: Option<&str>,
    expected_version: Option<i32>,
    expected_checksum: Option<&str>,
) -> pgrx::composite_type!('static, "metadata.sys_metadata") {
    crate::pg::errors::refuse_on_standby();
    let info = writable_type(type_name);
    let name = crate::pg::errors::required(name, "name");
    let version = version.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "version must not be NULL".to_owned(),
            None,
        )
    });
    Spi::connect_mut(|client| {
        // The version as history holds it, for the caller (raises P0002 when absent).
        let (doc, strategy, extends, old_owner) = run(
            client,
            "history_at",
            || {
                "SELECT h.metadata, h.strategy, h.extends, h.owner \
                 FROM metadata._history_at($1, $2, $3, $4, $5) AS h"
                    .to_owned()
            },
            &[TEXT, TEXT, INT4, TEXT, TEXT],
            &[
                info.name.as_str().into(),
                name.into(),
                version.into(),
                scope.into(),
                owner.into(),
            ],
            |table| {
                let row = table.first();
                (
                    row.get::<JsonbBytes>(1)
                        .expect("metadata")
                        .expect("a document"),
                    row.get::<String>(2).expect("strategy").unwrap_or_default(),
                    row.get::<String>(3).expect("extends"),
                    row.get::<String>(4).expect("owner"),
                )
            },
        );
        let parsed = doc.to_document().unwrap_or_else(|e| raise_document(e));
        let note = note
            .map(str::to_owned)
            .unwrap_or_else(|| format!("rollback to version {version}"));
        let save = Save {
            key: LayerKey::for_caller(Some(&info.name), Some(name), scope, old_owner.as_deref()),
            doc,
            parsed,
            request_state: State::Active,
            given: Given {
                strategy: Strategy::parse(&strategy),
                extends: Some(extends),
                ..Given::default()
            },
            on_conflict: OnConflict::Update,
            expected: expectation(expected_version, expected_checksum),
            note: Some(&note),
            op: Some(Op::Revert),
        };
        save_layer(client, &info, save)
    })
}
