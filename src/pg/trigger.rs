//! The write trigger of `metadata.sys_metadata` (BEFORE INSERT OR UPDATE, DESIGN §2): for
//! every write, by the API or by plain SQL, the extension and not the caller decides the
//! columns it maintains, and every write obeys the same rules:
//! * `version` is 1 on insert and grows by one on every change (an UPDATE that changes
//!   nothing keeps it); `checksum` is the document's; `created_*` and `updated_*` are the
//!   actor (`metadata.user_id`, else the role) and the transaction's time; `base_checksum`
//!   is the checksum of what is below the layer, `base_version` (drafts) the version of the
//!   live row. A caller who gives one of them another value gets 428C9 generated_always,
//!   and an UPDATE cannot move a row to another layer key (428C9 too).
//! * A live or draft row is checked as `save` checks it (`crate::pg::checks`): resolution,
//!   the type's rules, the schema. When the write comes from `save`, `publish` or
//!   `rollback`, which have done that already, the trigger takes their result
//!   (`crate::pg::intent`) instead of hashing and checking again.
//! * A restore (`metadata._restoring()`: row_security = off and a login that bypasses row
//!   level security) brings rows back as they were.

use crate::core::canonical::checksum;
use crate::core::layers::{rank_of, Layer, LayerMeta, State, Strategy};
use crate::pg::checks::{check_layer, require_writable, NewLayer};
use crate::pg::context::{actor, restoring};
use crate::pg::errors::{raise, raise_document, raise_with};
use crate::pg::feed::{check_references_at_commit, register};
use crate::pg::intent::{take_if, Intent};
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::LayerKey;
use crate::pg::tuple::{bad_value, Tuple};
use crate::pg::types::type_info;
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};

/// 428C9: a maintained column given another value than the extension's.
fn maintained(column: &str) -> ! {
    raise_with(
        PgSqlErrorCode::ERRCODE_GENERATED_ALWAYS,
        format!("column {column} of metadata.sys_metadata is maintained by the extension"),
        None,
        Some("Leave it out: version, checksum, base_checksum, base_version, created_* and updated_* are set by the write trigger.".to_owned()),
    )
}

/// Whether the intent of a write function is about exactly this row.
fn intent_matches(intent: &Intent, key: &LayerKey, row: &Tuple, doc: &JsonbBytes) -> bool {
    intent.tenant == key.tenant
        && intent.type_name == key.type_name
        && intent.name == key.name
        && intent.scope == key.scope
        && intent.owner == key.owner
        && Some(intent.strategy.as_str().to_owned()) == row.text("strategy")
        && intent.extends == row.text("extends")
        && intent.doc.bytes() == doc.bytes()
}

/// The version of the live row of `key` (for a draft's `base_version`).
fn live_version(key: &LayerKey) -> Option<i32> {
    Spi::connect_mut(|client| {
        crate::pg::write::lock_rows(client, key)
            .live
            .map(|l| l.version)
    })
}

/// Whether `column` has the same value in both rows.
fn same(new: &Tuple, old: &Tuple, column: &str) -> bool {
    match column {
        "id" => new.get::<pgrx::Uuid>(column) == old.get::<pgrx::Uuid>(column),
        "version" | "base_version" => new.int4(column) == old.int4(column),
        "created_at" | "updated_at" => new.int8(column) == old.int8(column),
        _ => new.text(column) == old.text(column),
    }
}

/// The write trigger (see the module documentation).
#[pg_trigger]
fn sys_metadata_before_write<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, pgrx::heap_tuple::PgHeapTupleError>
{
    let td = trigger.trigger_data();
    // SAFETY: a row-level BEFORE INSERT OR UPDATE trigger of sys_metadata.
    let (tupdesc, is_insert) = unsafe {
        (
            (*td.tg_relation).rd_att,
            td.tg_event & pg_sys::TRIGGER_EVENT_OPMASK == pg_sys::TRIGGER_EVENT_INSERT,
        )
    };
    let new = Tuple {
        tuple: if is_insert {
            td.tg_trigtuple
        } else {
            td.tg_newtuple
        },
        tupdesc,
    };
    let old = (!is_insert).then_some(Tuple {
        tuple: td.tg_trigtuple,
        tupdesc,
    });
    let mut set: Vec<(&str, Option<pg_sys::Datum>)> = Vec::new();
    if restoring() {
        if is_insert {
            let computed = checksum(
                &new.doc()
                    .to_document()
                    .unwrap_or_else(|e| raise_document(e)),
            );
            match new.text("checksum").as_deref() {
                Some("") | None => set.push(("checksum", computed.into_datum())),
                Some(given) if given != computed => raise_with(
                    PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                    format!("checksum {given} does not match the document ({computed})"),
                    None,
                    None,
                ),
                Some(_) => {}
            }
        }
        return Ok(Some(modified(&new, &set)));
    }
    let actor = actor();
    // SAFETY: the start time of the current transaction: what now() returns.
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let key = new.key();
    let doc = new.doc();
    let state_text = new.text("state").unwrap_or_default();
    let state = State::parse(&state_text).unwrap_or_else(|| bad_value("state", &state_text));
    let checked = state.is_live() || state == State::Draft;
    let intent = if checked {
        take_if(|i| intent_matches(i, &key, &new, &doc))
    } else {
        None
    };
    let doc_changed;
    match &old {
        Some(old) => {
            for column in [
                "id",
                "version",
                "checksum",
                "created_by",
                "created_at",
                "base_checksum",
                "base_version",
            ] {
                if !same(&new, old, column) {
                    maintained(column);
                }
            }
            if key != old.key() {
                raise_with(
                    PgSqlErrorCode::ERRCODE_GENERATED_ALWAYS,
                    "an UPDATE cannot move a row of metadata.sys_metadata to another layer (tenant_id, type, name, scope, owner)".to_owned(),
                    None,
                    Some("Insert the new layer and delete the old one.".to_owned()),
                );
            }
            doc_changed = doc.bytes() != old.doc().bytes();
            // A write function's new bases (a save acknowledging what is below now) are a
            // change; a plain SQL UPDATE that changes no content is none.
            let new_bases = intent.as_ref().is_some_and(|i| {
                i.base_checksum != old.text("base_checksum")
                    || i.base_version != old.int4("base_version")
            });
            if !doc_changed && !new_bases && new.content() == old.content() {
                return Ok(Some(modified(&new, &set))); // nothing changed: same version
            }
            let version = old.int4("version").unwrap_or(0);
            let next = version.checked_add(1).unwrap_or_else(|| {
                raise(
                    PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                    format!("version of {} cannot grow past {version}", key.describe()),
                    None,
                )
            });
            set.push(("version", next.into_datum()));
            set.push(("updated_at", Some(pg_sys::Datum::from(now))));
            set.push(("updated_by", actor.clone().into_datum()));
        }
        None => {
            doc_changed = true;
            if new.int4("version") != Some(1) {
                maintained("version");
            }
            for column in ["created_by", "updated_by"] {
                match new.text(column).as_deref() {
                    Some("") => set.push((column, actor.clone().into_datum())),
                    Some(given) if given == actor => {}
                    _ => maintained(column),
                }
            }
            for column in ["created_at", "updated_at"] {
                if new.int8(column) != Some(now) {
                    maintained(column);
                }
            }
            for column in ["base_checksum", "base_version"] {
                if new.datum(column).is_some() {
                    maintained(column);
                }
            }
        }
    }
    let given_checksum = new.text("checksum").filter(|c| !c.is_empty() && is_insert);
    let computed = if checked {
        let computed = match intent {
            Some(intent) => {
                if intent.check_references && state.is_live() {
                    check_references_at_commit(
                        &key.type_name,
                        &key.name,
                        key.tenant.as_deref(),
                        key.owner.as_deref(),
                    );
                }
                set.push(("base_checksum", intent.base_checksum.into_datum()));
                set.push(("base_version", intent.base_version.into_datum()));
                intent.checksum
            }
            None => {
                // A plain SQL write: the checks save() runs, on this row.
                require_writable(&key);
                let info = type_info(&key.type_name);
                let parsed = doc.to_document().unwrap_or_else(|e| raise_document(e));
                let computed = checksum(&parsed);
                let strategy_text = new.text("strategy").unwrap_or_default();
                let strategy = Strategy::parse(&strategy_text)
                    .unwrap_or_else(|| bad_value("strategy", &strategy_text));
                let extends = new.text("extends");
                let layer = Layer {
                    meta: LayerMeta {
                        rank: rank_of(key.scope, key.tenant.is_some()),
                        scope: key.scope,
                        tenant_id: key.tenant.clone(),
                        owner: key.owner.clone(),
                        strategy,
                        extends: extends.clone(),
                        state,
                        version: 0,
                        checksum: computed.clone(),
                        base_checksum: None,
                    },
                    doc: doc.clone(),
                };
                let base = check_layer(
                    &info,
                    &key,
                    extends.as_deref(),
                    state == State::Draft,
                    Some(NewLayer { layer, parsed }),
                    None,
                )
                .expect("checked");
                let base_version = if state == State::Draft {
                    live_version(&key)
                } else {
                    None
                };
                if info.checks_references() && state.is_live() {
                    check_references_at_commit(
                        &key.type_name,
                        &key.name,
                        key.tenant.as_deref(),
                        key.owner.as_deref(),
                    );
                }
                set.push(("base_checksum", base.into_datum()));
                set.push(("base_version", base_version.into_datum()));
                computed
            }
        };
        Some(computed)
    } else if doc_changed {
        Some(checksum(
            &doc.to_document().unwrap_or_else(|e| raise_document(e)),
        ))
    } else {
        None
    };
    if let Some(computed) = computed {
        if let Some(given) = given_checksum.filter(|g| *g != computed) {
            raise_with(
                PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                format!(
                    "checksum {} does not match the document ({computed})",
                    crate::pg::key::truncate(&given)
                ),
                None,
                Some("Leave checksum out: the extension computes it.".to_owned()),
            );
        }
        set.push(("checksum", computed.into_datum()));
    }
    register();
    Ok(Some(modified(&new, &set)))
}

/// The row with the columns of `set` replaced (one copy of the tuple).
fn modified<'a>(
    row: &Tuple,
    set: &[(&str, Option<pg_sys::Datum>)],
) -> PgHeapTuple<'a, pgrx::AllocatedByPostgres> {
    let mut columns: Vec<i32> = set.iter().map(|(c, _)| row.attnum(c)).collect();
    let mut values: Vec<pg_sys::Datum> = set
        .iter()
        .map(|(_, v)| v.unwrap_or(pg_sys::Datum::from(0)))
        .collect();
    let mut nulls: Vec<bool> = set.iter().map(|(_, v)| v.is_none()).collect();
    // SAFETY: the columns exist in the descriptor and the datums have their types.
    unsafe {
        let tuple = if set.is_empty() {
            row.tuple
        } else {
            pg_sys::heap_modify_tuple_by_cols(
                row.tuple,
                row.tupdesc,
                columns.len() as i32,
                columns.as_mut_ptr(),
                values.as_mut_ptr(),
                nulls.as_mut_ptr(),
            )
        };
        PgHeapTuple::from_heap_tuple(pgrx::PgTupleDesc::from_pg_unchecked(row.tupdesc), tuple)
    }
}
