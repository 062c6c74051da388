//! SPI statements prepared once per backend and kept, by name. Every statement text is a
//! constant of this library that names each operator, function and type with its schema
//! (it is planned under the caller's search_path); values are always parameters.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiTupleTable};
use pgrx::PgOid;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static PLANS: RefCell<HashMap<String, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// The type of a text parameter.
pub const TEXT: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTOID);
/// The type of an integer parameter.
pub const INT4: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::INT4OID);
/// The type of a bigint parameter.
pub const INT8: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::INT8OID);
/// The type of a double precision parameter.
pub const FLOAT8: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::FLOAT8OID);
/// The type of a jsonb parameter.
pub const JSONB: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::JSONBOID);
/// The type of a text[] parameter.
pub const TEXT_ARRAY: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTARRAYOID);

/// Runs the statement `sql` (prepared under `name` with parameter `types` the first time)
/// with `args`, and hands its result to `read`. The statement may change rows: it gives the
/// transaction an id, and from then on every SPI query of the transaction takes a snapshot
/// of its own (pgrx's rule). For a statement that only reads, use [`query`].
pub fn run<R>(
    client: &mut SpiClient<'_>,
    name: &str,
    sql: impl FnOnce() -> String,
    types: &[PgOid],
    args: &[DatumWithOid<'_>],
    read: impl FnOnce(SpiTupleTable<'_>) -> R,
) -> R {
    let plan = prepared(client, name, sql, types, true);
    let table = client
        .update(&*plan, None, args)
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    read(table)
}

/// Runs the read-only statement `sql` as [`run`] does, under the caller's active snapshot
/// (a transaction that wrote nothing keeps no transaction id and sees, within a statement,
/// one snapshot).
pub fn query<R>(
    client: &SpiClient<'_>,
    name: &str,
    sql: impl FnOnce() -> String,
    types: &[PgOid],
    args: &[DatumWithOid<'_>],
    read: impl FnOnce(SpiTupleTable<'_>) -> R,
) -> R {
    let plan = prepared(client, name, sql, types, false);
    let table = client
        .select(&*plan, None, args)
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    read(table)
}

/// Runs the read-only statement `sql` as [`query`] does while the transaction has written
/// nothing (it has no transaction id, and a hot standby's reads may not take one), else as
/// [`run`] does (the statement then also sees what the transaction wrote earlier in the
/// same statement, such as a type registered by the function that reads it).
pub fn read<R>(
    name: &str,
    sql: impl FnOnce() -> String,
    types: &[PgOid],
    args: &[DatumWithOid<'_>],
    read: impl FnOnce(SpiTupleTable<'_>) -> R,
) -> R {
    // SAFETY: reads this backend's own transaction state.
    let wrote = unsafe { pg_sys::GetTopTransactionIdIfAny() } != pg_sys::InvalidTransactionId;
    if wrote {
        Spi::connect_mut(|client| run(client, name, sql, types, args, read))
    } else {
        // Prepared apart: a read-only plan may not run a mutating statement, nor the reverse.
        let name = format!("{name}/read-only");
        Spi::connect(|client| query(client, &name, sql, types, args, read))
    }
}

fn prepared(
    client: &SpiClient<'_>,
    name: &str,
    sql: impl FnOnce() -> String,
    types: &[PgOid],
    mutating: bool,
) -> Rc<OwnedPreparedStatement> {
    // The map is not borrowed while a statement runs: running one may run others (a
    // trigger, a row level security policy reading the tenant binding).
    let plan = PLANS.with(|plans| plans.borrow().get(name).cloned());
    if let Some(plan) = plan {
        return plan;
    }
    let text = sql();
    let statement = if mutating {
        client.prepare_mut(text.as_str(), types)
    } else {
        client.prepare(text.as_str(), types)
    };
    let plan = Rc::new(
        statement
            .unwrap_or_else(|e| panic!("preparing {name}: {e}"))
            .keep(),
    );
    PLANS.with(|plans| plans.borrow_mut().insert(name.to_owned(), Rc::clone(&plan)));
    plan
}

/// The first column of the first row of the read-only statement `sql` with `args` (None
/// for no row or NULL), under the caller's snapshot, as [`query`] (pgrx's `Spi::get_one*`
/// would give the transaction an id).
pub fn read_one<A: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid<'_>]) -> Option<A> {
    Spi::connect(|client| {
        client
            .select(sql, Some(1), args)
            .ok()
            .and_then(|rows| rows.first().get_one::<A>().ok().flatten())
    })
}
