//! Canonical JSON and checksums (DESIGN §2, column `checksum`).
//!
//! The canonical text of a JSON value is what ObjectStack's `hashSpec` hashes
//! (`JSON.stringify` of the value with sorted keys), which is the JSON Canonicalization
//! Scheme (RFC 8785) but for the order of array-index keys:
//! * object members sorted by key, comparing keys as sequences of UTF-16 code units
//!   (RFC 8785 §3.2.3), except that keys which are array indices come first, in numeric
//!   order, as `JSON.stringify` writes them in `hashSpec` (see [`member_order`]);
//! * no insignificant whitespace; strings escaped as `JSON.stringify` escapes them (`"`, `\`
//!   and control characters only, the short forms `\b \t \n \f \r` where they exist, else
//!   `\u00xx`; `serde_json` writes exactly these);
//! * numbers in ECMAScript's `Number.prototype.toString` form (RFC 8785 §3.2.2.3), written
//!   by the `ryu-js` crate: `1.0` is `1`, `1e2` is `100`, `1.50` is `1.5`, `-0` is `0`.
//!
//! One extension, for numbers an IEEE 754 double cannot hold (RFC 8785 §3.2.2 does not
//! define them; JavaScript's `JSON.parse` rounds them, so `hashSpec` never sees them): an
//! integer beyond 2^53 that is not a double, a decimal with more significant digits than a
//! double keeps, a number beyond the double range. Such a number is written as its exact
//! decimal value, in the same layout rules as ECMAScript's (so distinct values never share
//! a text, and two documents that differ only in such digits have different checksums).
//!
//! The checksum is `sha256:` followed by the lower-case hex SHA-256 of the UTF-8 canonical
//! text. [`checksum_v1`] is 0.1.0's checksum (UTF-8 byte order, numbers as stored), kept
//! only so that the upgrade script can recognise stored values.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::fmt::Write as _;

/// Prefix of every checksum this extension writes.
pub const CHECKSUM_PREFIX: &str = "sha256:";

/// Returns the canonical JSON text of `value` (RFC 8785, see the module documentation).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out, Form::Rfc8785);
    // The writer only emits valid UTF-8: keys and strings come from `String`s.
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// Returns `sha256:<hex>` of the canonical JSON text of `value`: ObjectStack's
/// `hashSpec(value)` for every document whose numbers a double holds.
pub fn checksum(value: &Value) -> String {
    hash_with(value, Form::Rfc8785)
}

/// 0.1.0's checksum: keys in UTF-8 byte order, numbers written as stored. Only for
/// recognising checksums stored by 0.1.0 (the upgrade script's migration).
pub fn checksum_v1(value: &Value) -> String {
    hash_with(value, Form::V1)
}

/// Whether [`checksum_v1`] and [`checksum`] can differ for `value` or for a JSON Merge Patch
/// combination of it with documents that are not sensitive: it holds a number whose text
/// is not its canonical form, or a key that is an array index or not ASCII (the only
/// places where the two forms differ).
pub fn form_sensitive(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| !k.is_ascii() || array_index(k).is_some() || form_sensitive(v)),
        Value::Array(items) => items.iter().any(form_sensitive),
        Value::Number(n) => {
            let mut out = Vec::new();
            write_number(n.as_str(), &mut out);
            out != n.as_str().as_bytes()
        }
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Rfc8785,
    V1,
}

fn hash_with(value: &Value, form: Form) -> String {
    let mut bytes = Vec::with_capacity(1024);
    write_canonical(value, &mut bytes, form);
    let digest = Sha256::digest(&bytes);
    let mut out = String::with_capacity(CHECKSUM_PREFIX.len() + 64);
    out.push_str(CHECKSUM_PREFIX);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The order of members: RFC 8785 §3.2.3 compares keys as UTF-16 code unit sequences (for
/// two ASCII keys, the usual case, that is byte order). `hashSpec` differs in one point,
/// which we follow: `JSON.stringify` writes the keys that are array indices (`"0"`, `"42"`:
/// ECMA-262 §6.1.7, canonical decimal integers below 2^32 - 1) first, in numeric order,
/// whatever order they were sorted into.
fn member_order(a: &str, b: &str) -> Ordering {
    match (array_index(a), array_index(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) if a.is_ascii() && b.is_ascii() => a.as_bytes().cmp(b.as_bytes()),
        (None, None) => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

/// The value of `key` when it is an array index: "0", or digits without a leading zero,
/// below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    let bytes = key.as_bytes();
    if bytes.is_empty() || bytes.len() > 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return None;
    }
    key.parse::<u32>().ok().filter(|&n| n != u32::MAX)
}

fn write_canonical(value: &Value, out: &mut Vec<u8>, form: Form) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            match form {
                Form::Rfc8785 => members.sort_unstable_by(|a, b| member_order(a.0, b.0)),
                Form::V1 => members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes())),
            }
            out.push(b'{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(member, out, form);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out, form);
            }
            out.push(b']');
        }
        Value::Number(n) if form == Form::Rfc8785 => write_number(n.as_str(), out),
        // Serialising a scalar into a Vec cannot fail.
        scalar => serde_json::to_writer(out, scalar).expect("serialising a JSON scalar"),
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(out, s).expect("serialising a JSON string");
}

/// Writes the JSON number `text` (valid JSON number syntax) in canonical form.
fn write_number(text: &str, out: &mut Vec<u8>) {
    // Integers of up to 15 digits are doubles, and ECMAScript writes them as they are.
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()) && text != "-0" {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let exact = Decimal::parse(text);
    if let Ok(double) = text.parse::<f64>() {
        if double.is_finite() {
            let mut buffer = ryu_js::Buffer::new();
            let shortest = buffer.format_finite(double);
            if Decimal::parse(shortest) == exact {
                out.extend_from_slice(shortest.as_bytes());
                return;
            }
        }
    }
    exact.write_ecmascript(out);
}

/// A decimal value: `digits` × 10^`exponent`, `digits` without leading or trailing zeros
/// (empty for zero, which has no sign).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    /// Parses JSON number syntax (also ECMAScript's output, `1e+21`).
    fn parse(text: &str) -> Decimal {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (
                &rest[..at],
                rest[at + 1..]
                    .trim_start_matches('+')
                    .parse::<i64>()
                    .unwrap_or(0),
            ),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
        let mut exponent = exponent.saturating_sub(frac.len() as i64);
        let leading = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..leading);
        while digits.last() == Some(&b'0') {
            digits.pop();
            exponent = exponent.saturating_add(1);
        }
        if digits.is_empty() {
            return Decimal {
                negative: false,
                digits,
                exponent: 0,
            };
        }
        Decimal {
            negative,
            digits,
            exponent,
        }
    }

    /// Writes the value in the layout of ECMAScript's Number::toString (ECMA-262 §6.1.6.1.20):
    /// with k digits and the decimal point after n of them, plain digits for k ≤ n ≤ 21, a
    /// fraction for -6 < n ≤ 21, else one digit, a fraction and `e±(n-1)`.
    fn write_ecmascript(&self, out: &mut Vec<u8>) {
        if self.digits.is_empty() {
            out.push(b'0');
            return;
        }
        if self.negative {
            out.push(b'-');
        }
        let k = self.digits.len() as i64;
        let n = k.saturating_add(self.exponent);
        if k <= n && n <= 21 {
            out.extend_from_slice(&self.digits);
            out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
        } else if 0 < n && n <= 21 {
            out.extend_from_slice(&self.digits[..n as usize]);
            out.push(b'.');
            out.extend_from_slice(&self.digits[n as usize..]);
        } else if -6 < n && n <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-n) as usize));
            out.extend_from_slice(&self.digits);
        } else {
            out.push(self.digits[0]);
            if k > 1 {
                out.push(b'.');
                out.extend_from_slice(&self.digits[1..]);
            }
            let e = n - 1;
            let _ = write!(
                ByteWriter(out),
                "e{}{}",
                if e < 0 { '-' } else { '+' },
                e.unsigned_abs()
            );
        }
    }
}

struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
#[path = "canonical_tests.rs"]
mod tests;
