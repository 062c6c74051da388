//! The history trigger of `metadata.sys_metadata` (AFTER INSERT OR UPDATE OR DELETE, DESIGN
//! §4 "History"): every change of a row, by the API or by plain SQL, gets a history row in
//! the same transaction, written by the extension (as its owner: callers have no right to
//! write history themselves), and a place in the change feed at commit (`crate::pg::feed`).
//!
//! * The operation is `create`, `update` or `delete` (an archive or a DELETE), unless the
//!   write function making the change names it (`publish`, `revert`, or no history row for
//!   the draft row a publish removes: `crate::pg::intent`, in the library's memory, so a
//!   caller cannot name it).
//! * The note is the write function's `change_note`, else the setting
//!   `metadata.change_note`; who made the change is the row's `updated_by` (set by the write
//!   trigger), for a DELETE the actor (`metadata.user_id`, else the role).
//! * The same trigger keeps the row's dependency edges (`crate::pg::edges::record`).
//! * An UPDATE that changed nothing (same version) has no history row; rows a restore
//!   brings back (`metadata._restoring()`) already have theirs.

use crate::pg::context::{actor, restoring, setting};
use crate::pg::intent::{current_note, current_op, Op};
use crate::pg::owner::as_role;
use crate::pg::tuple::Tuple;
use pgrx::prelude::*;
use pgrx::IntoDatum;
use std::cell::Cell;
use std::ffi::CString;

/// The row after and the row before the change a row-level AFTER trigger of
/// `sys_metadata` fires for (INSERT: no row before; DELETE: no row after).
fn changed_rows(trigger: &pgrx::PgTrigger<'_>) -> (Option<Tuple>, Option<Tuple>) {
    let td = trigger.trigger_data();
    // SAFETY: a row-level AFTER trigger of sys_metadata: the tuples and the descriptor
    // are the trigger data's.
    let (event, tupdesc) = unsafe {
        (
            td.tg_event & pg_sys::TRIGGER_EVENT_OPMASK,
            (*td.tg_relation).rd_att,
        )
    };
    let row = |tuple| Tuple { tuple, tupdesc };
    match event {
        pg_sys::TRIGGER_EVENT_INSERT => (Some(row(td.tg_trigtuple)), None),
        pg_sys::TRIGGER_EVENT_UPDATE => (Some(row(td.tg_newtuple)), Some(row(td.tg_trigtuple))),
        _ => (None, Some(row(td.tg_trigtuple))),
    }
}

/// Preloaded mode: readers' remembered answers about `rows` (the row before and after a
/// change) are stale from the commit on (`crate::pg::counters`).
fn touch_buckets<'t>(rows: impl Iterator<Item = &'t Tuple>) {
    for row in rows {
        if let Some(type_name) = row.text("type") {
            crate::pg::counters::touched(row.text("tenant_id").as_deref(), &type_name);
        }
    }
}

/// The trigger of `metadata.sys_metadata` for the rows a logical replication subscription
/// applies (`ENABLE REPLICA`: it fires only under `session_replication_role = replica`,
/// where the history trigger does not). Such a row's history, edges and feed position
/// arrive replicated from the publisher, so all it does is note the change buckets, as the
/// history trigger does: a subscriber in preloaded mode then serves no remembered answer
/// that the applied change made stale.
#[pg_trigger]
fn sys_metadata_after_replicated_write<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, pgrx::heap_tuple::PgHeapTupleError>
{
    let (new, old) = changed_rows(trigger);
    touch_buckets(new.iter().chain(old.iter()));
    Ok(None)
}

/// The history trigger (see the module documentation).
#[pg_trigger]
fn sys_metadata_after_write<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, pgrx::heap_tuple::PgHeapTupleError>
{
    let (new, old) = changed_rows(trigger);
    touch_buckets(new.iter().chain(old.iter()));
    if restoring() {
        return Ok(None);
    }
    let named = current_op();
    let change = match (&new, &old) {
        (Some(new), None) => Change {
            row: new,
            op: "create",
            state: None,
            version: new.int4("version"),
            previous_checksum: None,
            changed_by: new.text("updated_by"),
        },
        (Some(new), Some(old)) => {
            if new.int4("version") == old.int4("version") {
                return Ok(None); // nothing changed
            }
            let archived = new.text("state").as_deref() == Some("archived")
                && old.text("state").as_deref() != Some("archived");
            Change {
                row: new,
                op: if archived { "delete" } else { "update" },
                state: None,
                version: new.int4("version"),
                previous_checksum: old.text("checksum"),
                changed_by: new.text("updated_by"),
            }
        }
        (None, Some(old)) => Change {
            row: old,
            op: "delete",
            state: Some("deleted"),
            version: old.int4("version").map(|v| v.saturating_add(1)),
            previous_checksum: old.text("checksum"),
            changed_by: Some(actor()),
        },
        (None, None) => unreachable!("a row trigger has a row"),
    };
    // SAFETY: the trigger relation's catalog row; its owner is the extension's owner.
    let owner = unsafe { (*(*trigger.trigger_data().tg_relation).rd_rel).relowner };
    crate::pg::edges::record(owner, new.as_ref(), old.as_ref());
    if named == Some(Op::Skip) {
        return Ok(None);
    }
    let note = current_note().or_else(|| setting(c"metadata.change_note"));
    let op = named.map_or(change.op, Op::as_str);
    let id = insert(owner, &change, op, note);
    crate::pg::feed::changed(id);
    Ok(None)
}

/// What the history row records of a change.
struct Change<'r> {
    /// The row as it is after the change (before it, for a DELETE).
    row: &'r Tuple,
    op: &'static str,
    /// The state recorded instead of the row's (`deleted` for a DELETE).
    state: Option<&'static str>,
    version: Option<i32>,
    previous_checksum: Option<String>,
    changed_by: Option<String>,
}

/// Inserts the history row of `change` as `owner` (the extension's), with one statement
/// prepared once per backend; returns its id.
fn insert(owner: pg_sys::Oid, change: &Change<'_>, op: &str, note: Option<String>) -> i64 {
    thread_local! {
        static PLAN: Cell<pg_sys::SPIPlanPtr> = const { Cell::new(std::ptr::null_mut()) };
    }
    const SQL: &str = "INSERT INTO metadata.sys_metadata_history \
          (item_id, op, tenant_id, type, name, scope, owner, state, strategy, extends, version, \
           metadata, checksum, previous_checksum, changed_by, note) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
        RETURNING id";
    use pg_sys::BuiltinOid::{INT4OID, JSONBOID, TEXTOID, UUIDOID};
    let mut types = [
        UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
        INT4OID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
    ]
    .map(|t| t.value());
    let r = change.row;
    let text = |v: Option<String>| v.into_datum();
    let args: [Option<pg_sys::Datum>; 16] = [
        r.datum("id"),
        op.into_datum(),
        r.datum("tenant_id"),
        r.datum("type"),
        r.datum("name"),
        r.datum("scope"),
        r.datum("owner"),
        change
            .state
            .map_or_else(|| r.datum("state"), |s| s.into_datum()),
        r.datum("strategy"),
        r.datum("extends"),
        change.version.into_datum(),
        r.datum("metadata"),
        r.datum("checksum"),
        text(change.previous_checksum.clone()),
        text(change.changed_by.clone()),
        text(note),
    ];
    let mut values: Vec<pg_sys::Datum> = args
        .iter()
        .map(|a| a.unwrap_or(pg_sys::Datum::from(0)))
        .collect();
    let nulls: Vec<std::ffi::c_char> = args
        .iter()
        .map(|a| if a.is_some() { b' ' } else { b'n' } as std::ffi::c_char)
        .collect();
    as_role(owner, || {
        // SAFETY: SPI is connected for the statement and finished before returning; the
        // plan is prepared once and kept (SPI_keepplan; the plan cache revalidates it); the
        // datums have the parameters' types (a domain over text is text) and live in the
        // trigger's memory context; the result is one by-value bigint.
        unsafe {
            if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
                panic!("SPI_connect failed");
            }
            let mut plan = PLAN.with(Cell::get);
            if plan.is_null() {
                let text = CString::new(SQL).expect("no NUL in a constant query");
                plan = pg_sys::SPI_prepare(text.as_ptr(), 16, types.as_mut_ptr());
                if plan.is_null() || pg_sys::SPI_keepplan(plan) != 0 {
                    panic!("preparing the history insert failed");
                }
                PLAN.with(|p| p.set(plan));
            }
            let code =
                pg_sys::SPI_execute_plan(plan, values.as_mut_ptr(), nulls.as_ptr(), false, 1);
            if code != pg_sys::SPI_OK_INSERT_RETURNING as i32 {
                panic!("the history insert failed ({code})");
            }
            let table = pg_sys::SPI_tuptable;
            let mut is_null = false;
            let id = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut is_null);
            let id = id.value() as i64;
            pg_sys::SPI_finish();
            id
        }
    })
}
