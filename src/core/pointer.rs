//! JSON Pointer (RFC 6901): building pointers for error messages, and selecting values
//! with pointers in which `*` stands for every member (reference paths).

use serde_json::Value;

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

/// Splits a JSON Pointer into unescaped reference tokens (RFC 6901 §3–4); `None` when the
/// text is not a pointer (non-empty and not starting with `/`).
pub fn tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Every value of `doc` that `pattern` selects, with its concrete pointer. `pattern` is a
/// JSON Pointer in which the token `*` stands for every member of an object or element of
/// an array (our extension of RFC 6901 for reference paths); other tokens select as RFC
/// 6901 does. Missing members select nothing.
pub fn select<'a>(doc: &'a Value, pattern: &str) -> Vec<(String, &'a Value)> {
    let Some(tokens) = tokens(pattern) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    walk(doc, &tokens, &mut Vec::new(), &mut found);
    found
}

fn walk<'a>(
    value: &'a Value,
    rest: &[String],
    path: &mut Vec<String>,
    found: &mut Vec<(String, &'a Value)>,
) {
    let Some((token, rest)) = rest.split_first() else {
        found.push((pointer(path.iter()), value));
        return;
    };
    let children: Vec<(String, &Value)> = match (value, token.as_str()) {
        (Value::Object(map), "*") => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        (Value::Array(items), "*") => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        (Value::Object(map), key) => map
            .get(key)
            .map(|v| (key.to_owned(), v))
            .into_iter()
            .collect(),
        (Value::Array(items), index) => index
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i).map(|v| (index.to_owned(), v)))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for (token, child) in children {
        path.push(token);
        walk(child, rest, path, found);
        path.pop();
    }
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

    #[test]
    fn tokens_unescape_per_rfc6901() {
        assert_eq!(tokens(""), Some(vec![]));
        assert_eq!(
            tokens("/a~1b/~0c/0"),
            Some(vec!["a/b".into(), "~c".into(), "0".into()])
        );
        assert_eq!(tokens("a/b"), None);
    }

    #[test]
    fn select_expands_wildcards_over_members_and_elements() {
        let doc = serde_json::json!({
            "object": "account",
            "navigation": [{"object": "lead"}, {"page": "home"}, {"object": "case"}],
            "fields": {"owner": {"reference": "user"}, "name": {"type": "text"}}
        });
        let names = |p: &str| -> Vec<(String, String)> {
            select(&doc, p)
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect()
        };
        assert_eq!(
            names("/object"),
            vec![("/object".into(), "\"account\"".into())]
        );
        assert_eq!(
            names("/navigation/*/object"),
            vec![
                ("/navigation/0/object".into(), "\"lead\"".into()),
                ("/navigation/2/object".into(), "\"case\"".into())
            ]
        );
        assert_eq!(
            names("/fields/*/reference"),
            vec![("/fields/owner/reference".into(), "\"user\"".into())]
        );
        assert!(names("/missing/*").is_empty());
        assert!(names("/navigation/9").is_empty());
        assert_eq!(names("").len(), 1);
    }
}
