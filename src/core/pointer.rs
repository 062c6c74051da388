//! JSON Pointer (RFC 6901) construction, used to say *where* in a document a problem is.

/// Escapes one reference token per RFC 6901 §3: `~` becomes `~0`, `/` becomes `~1`.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Builds a JSON Pointer (RFC 6901) from unescaped reference tokens; no tokens gives `""`,
/// the pointer to the whole document.
pub fn pointer<I, S>(tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for token in tokens {
        out.push('/');
        out.push_str(&escape_token(token.as_ref()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_rfc6901() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(pointer(["fields", "a/b", "0"]), "/fields/a~1b/0");
        assert_eq!(pointer(Vec::<String>::new()), "");
        // "~1" literally must round-trip as "~01", not be read back as "/".
        assert_eq!(escape_token("~1"), "~01");
    }
}
