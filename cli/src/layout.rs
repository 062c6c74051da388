//! The directory layout of `pull` and `push`: one file per layer,
//! `DIR/<type>/<name>.<scope>[.<tenant>][.<owner>][.draft].json`, where `<scope>` is
//! `system`, `platform` or `user`, the tenant and owner are those of the layer (absent for
//! global layers), and characters outside `A-Z a-z 0-9 _ - .` are written `%XX`. The file
//! holds the item as `metadata.export` writes it, without its checksum (a hand edit would
//! make it wrong; `import` ignores it): `{type, name, metadata, scope, tenant_id, owner,
//! strategy, extends, state, namespace, tags, package_id, package_version}`, members at
//! their default left out, keys sorted, two-space indentation, a final newline. The layer's
//! identity is read from the file, never from its name.

use serde_json::{Map, Value};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The path of the file of `item` (an item of an exported bundle) under `dir`.
pub fn path_of(dir: &Path, item: &Map<String, Value>) -> PathBuf {
    let text = |key: &str| item.get(key).and_then(Value::as_str);
    let mut file = encode(text("name").unwrap_or("_"));
    for part in [text("scope"), text("tenant_id"), text("owner")]
        .into_iter()
        .flatten()
    {
        file.push('.');
        file.push_str(&encode(part));
    }
    if text("state") == Some("draft") {
        file.push_str(".draft");
    }
    file.push_str(".json");
    dir.join(encode(text("type").unwrap_or("_"))).join(file)
}

fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text of the file of `item`: the item without its checksum, keys sorted.
pub fn file_text(item: &Map<String, Value>) -> String {
    let mut item = item.clone();
    item.remove("checksum");
    // serde_json's Map is ordered by key: the same item always gives the same text.
    let mut text = serde_json::to_string_pretty(&Value::Object(item)).expect("JSON to text");
    text.push('\n');
    text
}

/// Every `*.json` file one level below the type directories of `dir`, sorted.
pub fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for type_dir in fs::read_dir(dir)? {
        let type_dir = type_dir?.path();
        if !type_dir.is_dir()
            || type_dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        for file in fs::read_dir(&type_dir)? {
            let file = file?.path();
            if file.extension().is_some_and(|e| e == "json") {
                out.push(file);
            }
        }
    }
    out.sort();
    Ok(out)
}
