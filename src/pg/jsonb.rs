//! jsonb values held as Postgres's own bytes, so that a stored document can be returned
//! as it is, without the jsonb → text → serde_json → text → jsonb round trip (measured in
//! `bench/run.sh`, profile cases d–f: about half the cost of a 3-layer `effective`).

use crate::core::document::{parse_document, DocumentError};
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{direct_function_call, direct_function_call_as_datum, FromDatum, IntoDatum};
use serde_json::Value;
use std::ffi::{CStr, CString};
use std::rc::Rc;

/// A jsonb varlena (4-byte header, detoasted) copied into Rust memory; cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonbBytes(Rc<[u8]>);

impl JsonbBytes {
    /// Copies the jsonb `datum` (possibly toasted or compressed) into Rust memory.
    ///
    /// # Safety
    /// `datum` must be a valid, non-null jsonb datum.
    pub unsafe fn copy_from(datum: pg_sys::Datum) -> JsonbBytes {
        let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
        let detoasted = pg_sys::pg_detoast_datum(raw);
        let len = pgrx::varlena::varsize_any(detoasted);
        let bytes: Rc<[u8]> = std::slice::from_raw_parts(detoasted as *const u8, len).into();
        if detoasted != raw {
            pg_sys::pfree(detoasted.cast());
        }
        JsonbBytes(bytes)
    }

    /// Builds jsonb from a parsed value (through `jsonb_in`, as Postgres parses input).
    pub fn from_value(value: &Value) -> JsonbBytes {
        let text = CString::new(serde_json::to_string(value).expect("serialising JSON"))
            .expect("JSON text has no NUL byte");
        unsafe {
            let datum =
                direct_function_call_as_datum(pg_sys::jsonb_in, &[Some(text.as_ptr().into())])
                    .expect("jsonb_in returns a value");
            JsonbBytes::copy_from(datum)
        }
    }

    /// The JSON text of the value, as `jsonb_out` writes it.
    pub fn to_text(&self) -> String {
        unsafe {
            let datum = pg_sys::Datum::from(self.0.as_ptr());
            let text = direct_function_call::<&CStr>(pg_sys::jsonb_out, &[Some(datum)])
                .expect("jsonb_out returns text");
            let owned = text.to_string_lossy().into_owned();
            pg_sys::pfree(text.as_ptr() as *mut _);
            owned
        }
    }

    /// Parses the value as a metadata document (a JSON object within the limits).
    pub fn to_document(&self) -> Result<Value, DocumentError> {
        parse_document(&self.to_text())
    }

    /// Size in bytes (header included).
    pub fn size(&self) -> usize {
        self.0.len()
    }

    /// Identifies this copy: clones share it (the resolver clones layers, not bytes), so it
    /// keys a cache of parsed documents within one call.
    pub fn identity(&self) -> *const u8 {
        self.0.as_ptr()
    }

    /// The bytes (varlena header included), to compare two values exactly.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl FromDatum for JsonbBytes {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        // SAFETY: a non-null datum of a jsonb argument or column.
        (!is_null).then(|| unsafe { JsonbBytes::copy_from(datum) })
    }
}

// SAFETY: unboxes a jsonb argument by copying it (FromDatum above).
unsafe impl<'fcx> ArgAbi<'fcx> for JsonbBytes {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
}

impl IntoDatum for JsonbBytes {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        unsafe {
            let ptr = pg_sys::palloc(self.0.len()) as *mut u8;
            std::ptr::copy_nonoverlapping(self.0.as_ptr(), ptr, self.0.len());
            Some(pg_sys::Datum::from(ptr))
        }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

// SAFETY: the datum returned is a freshly palloc'd jsonb varlena in the function's context.
unsafe impl BoxRet for JsonbBytes {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

unsafe impl SqlTranslatable for JsonbBytes {
    const TYPE_IDENT: &'static str = concat!(module_path!(), "::JsonbBytes");
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}
