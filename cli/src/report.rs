//! Prints `metadata.import`'s report as a readable list of changes (`+` created, `~`
//! updated with its RFC 6902 operations, `-` deleted, `!` conflict or invalid, with the
//! SQLSTATE and message), then one summary line.

use serde_json::Value;
use std::path::PathBuf;

/// Prints the report; `files[i]` is the file of item `i`. Returns whether it was written
/// without failures.
pub fn print(report: &Value, files: &[PathBuf], verb: &str) -> bool {
    let empty = Vec::new();
    let items = report["items"].as_array().unwrap_or(&empty);
    for item in items {
        let status = item["status"].as_str().unwrap_or("");
        let mark = match status {
            "created" => '+',
            "updated" => '~',
            "deleted" => '-',
            "conflict" | "invalid" => '!',
            _ => continue,
        };
        let mut line = format!("{mark} {}", describe(item));
        if let Some(file) = item["index"].as_u64().and_then(|i| files.get(i as usize)) {
            line.push_str(&format!("  [{}]", file.display()));
        }
        println!("{line}");
        if let Some(ops) = item["diff"].as_array() {
            for op in ops {
                let value = op.get("value").map(|v| format!(" {v}")).unwrap_or_default();
                println!(
                    "    {} {}{value}",
                    op["op"].as_str().unwrap_or("?"),
                    op["path"].as_str().unwrap_or("")
                );
            }
        }
        if let Some(state) = item["sqlstate"].as_str() {
            println!("    {state}: {}", item["message"].as_str().unwrap_or(""));
            if let Some(detail) = item["detail"].as_str() {
                println!("    {detail}");
            }
        }
    }
    let counts = &report["counts"];
    let summary: Vec<String> = [
        "created",
        "updated",
        "deleted",
        "unchanged",
        "skipped",
        "conflict",
        "invalid",
    ]
    .iter()
    .filter_map(|s| counts[*s].as_u64().map(|n| format!("{n} {s}")))
    .collect();
    let written = report["written"].as_bool().unwrap_or(false);
    let failed = counts["invalid"].as_u64().unwrap_or(0) + counts["conflict"].as_u64().unwrap_or(0);
    let outcome = if report["dry_run"].as_bool().unwrap_or(false) {
        "dry run: nothing written"
    } else if written {
        "written"
    } else {
        "nothing written"
    };
    println!(
        "{verb}: {} ({outcome})",
        if summary.is_empty() {
            "no items".to_owned()
        } else {
            summary.join(", ")
        }
    );
    failed == 0 && (written || report["dry_run"].as_bool().unwrap_or(false))
}

/// "object/account (platform, tenant acme, owner u1, draft)".
fn describe(item: &Value) -> String {
    let mut parts = vec![item["scope"].as_str().unwrap_or("").to_owned()];
    if let Some(t) = item["tenant_id"].as_str() {
        parts.push(format!("tenant {t}"));
    }
    if let Some(o) = item["owner"].as_str() {
        parts.push(format!("owner {o}"));
    }
    match (item["type"].as_str(), item["name"].as_str()) {
        (Some(t), Some(n)) => format!("{t}/{n} ({})", parts.join(", ")),
        _ => "references".to_owned(),
    }
}
