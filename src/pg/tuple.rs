//! A row a trigger of `metadata.sys_metadata` sees, with its columns read by name.

use crate::core::layers::Scope;
use crate::pg::errors::raise;
use crate::pg::jsonb::JsonbBytes;
use crate::pg::key::LayerKey;
use pgrx::prelude::*;
use pgrx::{FromDatum, PgSqlErrorCode};
use std::ffi::CString;

/// A row the trigger sees, with its columns read by name.
pub struct Tuple {
    pub tuple: *mut pg_sys::HeapTupleData,
    pub tupdesc: pg_sys::TupleDesc,
}

impl Tuple {
    pub fn attnum(&self, column: &str) -> i32 {
        let name = CString::new(column).expect("a column name");
        // SAFETY: tupdesc is the trigger relation's descriptor.
        let n = unsafe { pg_sys::SPI_fnumber(self.tupdesc, name.as_ptr()) };
        assert!(n > 0, "sys_metadata has no column {column}");
        n
    }

    pub fn datum(&self, column: &str) -> Option<pg_sys::Datum> {
        let mut is_null = false;
        // SAFETY: tuple and tupdesc come from the trigger data and belong together.
        let datum = unsafe {
            pg_sys::heap_getattr(self.tuple, self.attnum(column), self.tupdesc, &mut is_null)
        };
        (!is_null).then_some(datum)
    }

    pub fn get<T: FromDatum>(&self, column: &str) -> Option<T> {
        // SAFETY: the datum has the column's type, which the caller names by T.
        self.datum(column)
            .and_then(|d| unsafe { T::from_datum(d, false) })
    }

    pub fn text(&self, column: &str) -> Option<String> {
        self.get::<String>(column)
    }

    pub fn int4(&self, column: &str) -> Option<i32> {
        self.datum(column).map(|d| d.value() as i32)
    }

    pub fn int8(&self, column: &str) -> Option<i64> {
        self.datum(column).map(|d| d.value() as i64)
    }

    pub fn doc(&self) -> JsonbBytes {
        self.get::<JsonbBytes>("metadata")
            .expect("metadata is NOT NULL")
    }

    /// The content of the row: what a change changes (not the maintained columns).
    pub fn content(&self) -> Vec<Option<String>> {
        [
            "state",
            "strategy",
            "extends",
            "namespace",
            "source",
            "managed_by",
            "package_id",
            "package_version",
        ]
        .iter()
        .map(|c| self.text(c))
        .chain(std::iter::once(
            self.get::<Vec<String>>("tags").map(|t| t.join("\u{1}")),
        ))
        .collect()
    }

    /// The layer key of the row.
    pub fn key(&self) -> LayerKey {
        let scope = self.text("scope").unwrap_or_default();
        LayerKey {
            tenant: self.text("tenant_id"),
            type_name: self.text("type").unwrap_or_default(),
            name: self.text("name").unwrap_or_default(),
            scope: Scope::parse(&scope).unwrap_or_else(|| bad_value("scope", &scope)),
            owner: self.text("owner"),
        }
    }
}

/// 23514: a row with a value the table's constraints refuse (they have not run yet).
pub fn bad_value(column: &str, value: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
        format!("unknown {column} \"{value}\""),
        None,
    )
}
