//! The name rules (DESIGN §2 "names are machine names"), written once: the SQL domain
//! `metadata.machine_name` and the type registry's CHECK call these through
//! `metadata._is_machine_name` and `metadata._is_type_name`, and the write functions use
//! them directly.

/// Longest machine name, in characters (ASCII, so bytes).
pub const MAX_NAME: usize = 128;

/// Longest type name (a Postgres identifier's 63 bytes).
pub const MAX_TYPE_NAME: usize = 63;

/// Whether `name` is a machine name: a letter or `_`, then letters, digits, `_`, `.` or
/// `-`, at most [`MAX_NAME`] characters, ASCII only. Quotes, spaces and SQL metacharacters
/// are never part of one.
pub fn is_machine_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `name` is a type name: a lower-case letter, then lower-case letters, digits and
/// `_`, at most [`MAX_TYPE_NAME`] characters.
pub fn is_type_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TYPE_NAME
        && bytes[0].is_ascii_lowercase()
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_are_ascii_identifiers_with_dots_and_dashes() {
        for ok in [
            "a",
            "_x",
            "account",
            "crm.account-2",
            "A_b.C-d9",
            &"n".repeat(128),
        ] {
            assert!(is_machine_name(ok), "{ok}");
        }
        for bad in [
            "",
            "9lives",
            "-x",
            ".x",
            "a b",
            "a'b",
            "a;b",
            "a\"b",
            "é",
            "a/b",
            "a\u{0}",
            &"n".repeat(129),
        ] {
            assert!(!is_machine_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn type_names_are_lower_case_identifiers() {
        for ok in ["object", "state_machine", "rag_pipeline2", &"t".repeat(63)] {
            assert!(is_type_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Object",
            "_x",
            "9a",
            "a-b",
            "a.b",
            "a b",
            &"t".repeat(64),
        ] {
            assert!(!is_type_name(bad), "{bad:?}");
        }
    }
}
