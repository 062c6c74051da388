//! jsonb values held as Postgres's own bytes, so that a stored document can be returned
//! as it is, without the jsonb → text → serde_json → text → jsonb round trip (measured in
//! `bench/run.sh`, profile cases d–f: about half the cost of a 3-layer `effective`).

use crate::core::document::{parse_document, DocumentError, MAX_DEPTH, MAX_DOCUMENT_BYTES};
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{direct_function_call, direct_function_call_as_datum, FromDatum, IntoDatum};
use serde_json::{Map, Number, Value};
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

    /// Parses the value as a metadata document (a JSON object within the limits of
    /// `crate::core::document`). It is read straight from its binary form, without JSON
    /// text in between (the same value: numbers are read from the text `numeric_out` writes
    /// for them, as `jsonb_out` does); a value the walk cannot vouch for (not an object,
    /// nested too deep, possibly over the size limit) goes through its JSON text, which
    /// applies the limits and gives their errors.
    pub fn to_document(&self) -> Result<Value, DocumentError> {
        // SAFETY: the bytes are a detoasted jsonb varlena (see copy_from).
        if let Some(value) = unsafe { self.walk() } {
            return Ok(value);
        }
        parse_document(&self.to_text())
    }

    /// The value read with Postgres's jsonb iterator; `None` when it is not an object,
    /// nests deeper than [`MAX_DEPTH`], could be longer than [`MAX_DOCUMENT_BYTES`] as JSON
    /// text (counted generously: every string byte as an escape of 6, quotes and
    /// separators included) or holds what the walk does not expect.
    ///
    /// # Safety
    /// `self` must hold a jsonb varlena (4-byte header), as every constructor makes it.
    unsafe fn walk(&self) -> Option<Value> {
        const JB_FOBJECT: u32 = 0x2000_0000;
        let header = u32::from_ne_bytes(self.0.get(4..8)?.try_into().ok()?);
        if header & JB_FOBJECT == 0 {
            return None;
        }
        use pg_sys::JsonbIteratorToken::*;
        // The iterator only reads the container (and allocates its own state with palloc,
        // in the current memory context).
        let root = self.0.as_ptr().add(4) as *mut pg_sys::JsonbContainer;
        let mut it = pg_sys::JsonbIteratorInit(root);
        let mut v: pg_sys::JsonbValue = std::mem::zeroed();
        // Open containers, each with the key it has in its parent.
        let mut stack: Vec<(Value, Option<String>)> = Vec::new();
        let mut key: Option<String> = None;
        let mut budget = MAX_DOCUMENT_BYTES;
        loop {
            let token = pg_sys::JsonbIteratorNext(&mut it, &mut v, false);
            budget = budget.checked_sub(text_bound(token, &v))?;
            let done = match token {
                WJB_BEGIN_OBJECT | WJB_BEGIN_ARRAY => {
                    if stack.len() >= MAX_DEPTH {
                        return None;
                    }
                    let empty = if token == WJB_BEGIN_OBJECT {
                        Value::Object(Map::new())
                    } else {
                        Value::Array(Vec::new())
                    };
                    stack.push((empty, key.take()));
                    continue;
                }
                WJB_KEY => {
                    key = Some(scalar(&v).and_then(|k| match k {
                        Value::String(k) => Some(k),
                        _ => None,
                    })?);
                    continue;
                }
                WJB_VALUE | WJB_ELEM => {
                    let value = scalar(&v)?;
                    if let Value::Number(n) = &value {
                        budget = budget.checked_sub(n.as_str().len())?;
                    }
                    value
                }
                WJB_END_OBJECT | WJB_END_ARRAY => {
                    let (done, its_key) = stack.pop()?;
                    key = its_key;
                    done
                }
                _ => return None,
            };
            match stack.last_mut() {
                Some((Value::Object(map), _)) => {
                    map.insert(key.take()?, done);
                }
                Some((Value::Array(items), _)) => items.push(done),
                Some(_) => return None,
                None => return Some(done),
            }
        }
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

/// At least the bytes of JSON text one token of the jsonb iterator stands for: brackets and
/// a separator, a string as if every byte were escaped (`\u00XX`) with its quotes and, for
/// a key, `": "`; a number's digits are counted when it is read (see [`scalar`]), here its
/// separator.
///
/// # Safety
/// `v` must be what the iterator has just returned with `token`.
unsafe fn text_bound(token: pg_sys::JsonbIteratorToken::Type, v: &pg_sys::JsonbValue) -> usize {
    use pg_sys::JsonbIteratorToken::*;
    match token {
        WJB_KEY | WJB_VALUE | WJB_ELEM if v.type_ == pg_sys::jbvType::jbvString => {
            6 * usize::try_from(v.val.string.len).unwrap_or(usize::MAX / 8) + 6
        }
        _ => 4,
    }
}

/// A scalar of the jsonb iterator as JSON; `None` for what is not a JSON scalar.
///
/// # Safety
/// `v` must be a scalar the iterator has just returned.
unsafe fn scalar(v: &pg_sys::JsonbValue) -> Option<Value> {
    use pg_sys::jbvType;
    Some(match v.type_ {
        jbvType::jbvNull => Value::Null,
        jbvType::jbvBool => Value::Bool(v.val.boolean),
        jbvType::jbvString => {
            let s = v.val.string;
            let bytes =
                std::slice::from_raw_parts(s.val as *const u8, usize::try_from(s.len).ok()?);
            Value::String(std::str::from_utf8(bytes).ok()?.to_owned())
        }
        jbvType::jbvNumeric => {
            let text = direct_function_call::<&CStr>(
                pg_sys::numeric_out,
                &[Some(pg_sys::Datum::from(v.val.numeric))],
            )?;
            let number = text.to_str().ok()?.parse::<Number>().ok();
            pg_sys::pfree(text.as_ptr() as *mut _);
            Value::Number(number?)
        }
        _ => return None,
    })
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
