//! `metadata`: the metadata extension's catalog as files (README, "Command line").
//!
//! * `metadata pull DIR` writes one canonical JSON file per layer the caller may see
//!   (layout in `layout.rs`) and removes the files of layers that are gone;
//! * `metadata push DIR [--dry-run] [--prune] [--mode M] [--json]` imports the directory
//!   with `metadata.import` (all or nothing) and prints what changed;
//! * `metadata diff DIR` is `push --dry-run`: what push would change;
//! * `metadata status` counts the live layers per type and scope and shows the feed head.
//!
//! Exit status: 0 done, 1 a push or diff with conflicts or invalid items, 2 any other error.

mod connect;
mod layout;
mod report;

use clap::{Parser, Subcommand};
use connect::{connect, Target};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "metadata",
    version,
    about = "The metadata extension's catalog as files in a directory"
)]
struct Cli {
    /// Connection string (libpq key/value or URL); default: the PG* variables.
    #[arg(long, global = true)]
    dsn: Option<String>,
    /// The tenant to act for (metadata.tenant_id).
    #[arg(long, global = true, env = "METADATA_TENANT")]
    tenant: Option<String>,
    /// The user to act as (metadata.user_id).
    #[arg(long, global = true, env = "METADATA_USER")]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes every layer the caller may see into DIR, one file each.
    Pull {
        dir: PathBuf,
        /// Only these types (repeatable).
        #[arg(long = "type")]
        types: Vec<String>,
    },
    /// Imports DIR (all or nothing) and prints what changed.
    Push {
        dir: PathBuf,
        #[arg(long)]
        dry_run: bool,
        /// Archive the layers of DIR's types, scopes and tenants that DIR does not have.
        #[arg(long)]
        prune: bool,
        /// overwrite, merge or skip (metadata.import).
        #[arg(long, default_value = "overwrite")]
        mode: String,
        /// Print import's report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What push would change (a dry run).
    Diff {
        dir: PathBuf,
        #[arg(long)]
        prune: bool,
        #[arg(long)]
        json: bool,
    },
    /// Live layers per type and scope, and the feed head.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let target = Target {
        dsn: cli.dsn.as_deref(),
        tenant: cli.tenant.as_deref(),
        user: cli.user.as_deref(),
    };
    let result = match &cli.command {
        Command::Pull { dir, types } => pull(&target, dir, types),
        Command::Push {
            dir,
            dry_run,
            prune,
            mode,
            json,
        } => push(&target, dir, *dry_run, *prune, mode, *json),
        Command::Diff { dir, prune, json } => push(&target, dir, true, *prune, "overwrite", *json),
        Command::Status => status(&target),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            match e
                .downcast_ref::<postgres::Error>()
                .and_then(postgres::Error::as_db_error)
            {
                Some(db) => eprintln!("metadata: {}: {}", db.code().code(), db.message()),
                None => eprintln!("metadata: {e}"),
            }
            ExitCode::from(2)
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn pull(target: &Target<'_>, dir: &Path, types: &[String]) -> Result<bool> {
    let mut client = connect(target, |_| {})?;
    let filters = if types.is_empty() {
        json!({})
    } else {
        json!({ "types": types })
    };
    let bundle: Value = client
        .query_one(
            "SELECT metadata.export($1::text::jsonb)::text",
            &[&filters.to_string()],
        )?
        .get::<_, String>(0)
        .parse::<Value>()?;
    let items = bundle["items"].as_array().cloned().unwrap_or_default();
    let progress = bar(items.len() as u64, "pull");
    let mut written = std::collections::BTreeSet::new();
    for item in &items {
        let item = item
            .as_object()
            .ok_or("export returned an item that is not an object")?;
        let path = layout::path_of(dir, item);
        fs::create_dir_all(path.parent().expect("a type directory"))?;
        let text = layout::file_text(item);
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(&path, text)?;
        }
        written.insert(path);
        progress.inc(1);
    }
    progress.finish_and_clear();
    // Files of layers that are gone (within the types pulled).
    let mut removed = 0;
    if dir.exists() {
        for file in layout::files(dir)? {
            let type_name = file
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned());
            let pulled_type = types.is_empty() || type_name.is_some_and(|t| types.contains(&t));
            if pulled_type && !written.contains(&file) {
                fs::remove_file(&file)?;
                removed += 1;
            }
        }
    }
    println!(
        "pull: {} layers into {} ({removed} files removed)",
        items.len(),
        dir.display()
    );
    Ok(true)
}

fn push(
    target: &Target<'_>,
    dir: &Path,
    dry_run: bool,
    prune: bool,
    mode: &str,
    json: bool,
) -> Result<bool> {
    let files = layout::files(dir)?;
    let mut items = Vec::with_capacity(files.len());
    for file in &files {
        let text = fs::read_to_string(file)?;
        let item: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        items.push(item);
    }
    let progress = bar(items.len() as u64, if dry_run { "diff" } else { "push" });
    let on_notice = {
        let progress = progress.clone();
        move |message: &str| {
            // import's NOTICE "import: N of M items".
            if let Some(n) = message
                .strip_prefix("import: ")
                .and_then(|m| m.split(' ').next())
            {
                if let Ok(n) = n.parse() {
                    progress.set_position(n);
                }
            }
        }
    };
    let mut client = connect(target, on_notice)?;
    let bundle = json!({ "format": "objectstack-metadata-bundle", "items": items });
    let report: Value = client
        .query_one(
            "SELECT metadata.import($1::text::jsonb, mode => $2, dry_run => $3, prune => $4)::text",
            &[&bundle.to_string(), &mode, &dry_run, &prune],
        )?
        .get::<_, String>(0)
        .parse()?;
    progress.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        let failed = report["counts"]["invalid"].as_u64().unwrap_or(0)
            + report["counts"]["conflict"].as_u64().unwrap_or(0);
        return Ok(failed == 0);
    }
    Ok(report::print(
        &report,
        &files,
        if dry_run { "diff" } else { "push" },
    ))
}

fn status(target: &Target<'_>) -> Result<bool> {
    let mut client = connect(target, |_| {})?;
    for row in client.query(
        "SELECT type, scope, count(*) FROM metadata.sys_metadata \
         WHERE state IN ('active', 'deprecated') GROUP BY type, scope ORDER BY type, scope",
        &[],
    )? {
        let (t, s, n): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
        println!("{t:<24} {s:<9} {n:>7}");
    }
    let head: Option<i64> = client
        .query_one("SELECT max(seq) FROM metadata.sys_metadata_history", &[])?
        .get(0);
    println!("feed head: {}", head.unwrap_or(0));
    Ok(true)
}
