//! Raising Postgres errors with a SQLSTATE, message, detail and hint (DESIGN §1).

use crate::core::document::DocumentError;
use crate::core::layers::Scope;
use crate::core::resolve::ResolveError;
use crate::pg::source::SourceError;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Raises an ERROR; never returns.
/// Refuses a write on a hot standby (SQLSTATE 25006, read_only_sql_transaction) before it
/// starts: without this, the first write step would fail deeper down, asking for a
/// transaction id during recovery.
pub fn refuse_on_standby() {
    // SAFETY: reading the recovery state.
    if unsafe { pgrx::pg_sys::RecoveryInProgress() } {
        raise_with(
            PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
            "cannot change metadata on a hot standby".to_owned(),
            None,
            Some("Write on the primary; a standby serves effective, effective_all, explain and changes_since.".to_owned()),
        )
    }
}

pub fn raise(code: PgSqlErrorCode, message: String, detail: Option<String>) -> ! {
    raise_with(code, message, detail, None)
}

/// Raises an ERROR with a DETAIL and a HINT; never returns.
pub fn raise_with(
    code: PgSqlErrorCode,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
) -> ! {
    let mut report = ErrorReport::new(code, message, "metadata");
    if let Some(detail) = detail {
        report = report.set_detail(detail);
    }
    if let Some(hint) = hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// How many lines a DETAIL lists (items that depend, documents that fail) before it
/// says how many more there are.
pub const DETAIL_LINES: usize = 20;

/// A DETAIL of at most [`DETAIL_LINES`] of `lines`, then `and N more` of `total`.
pub fn listed(lines: impl Iterator<Item = String>, total: usize) -> String {
    let mut out: Vec<String> = lines.take(DETAIL_LINES).collect();
    if total > out.len() {
        out.push(format!("and {} more", total - out.len()));
    }
    out.join("\n")
}

/// An item as a DETAIL line names it: `type "name"`, then ` of tenant t`, ` of user u`.
pub fn item_of(type_name: &str, name: &str, tenant: Option<&str>, user: Option<&str>) -> String {
    let mut out = format!("{type_name} \"{name}\"");
    if let Some(t) = tenant {
        out.push_str(&format!(" of tenant {t}"));
    }
    if let Some(u) = user {
        out.push_str(&format!(" of user {u}"));
    }
    out
}

/// Reports a NOTICE (SQLSTATE 00000) with a DETAIL.
pub fn notice(message: String, detail: String) {
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        message,
        "metadata",
    )
    .set_detail(detail)
    .report(PgLogLevel::NOTICE);
}

/// `value`, or ERROR 22004 null_value_not_allowed naming `what` when it is NULL.
pub fn required<'a>(value: Option<&'a str>, what: &str) -> &'a str {
    value.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{what} must not be NULL"),
            None,
        )
    })
}

/// The scope spelled `text`, or ERROR 22023 invalid_parameter_value.
pub fn parse_scope(text: &str) -> Scope {
    Scope::parse(text).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown scope \"{text}\""),
            None,
        )
    })
}

/// The SQLSTATE of a document problem: 54000 program_limit_exceeded (size),
/// 54001 statement_too_complex (depth), 22023 invalid_parameter_value (not an object),
/// 22P02 invalid_text_representation (not JSON).
pub fn document_sqlstate(err: &DocumentError) -> PgSqlErrorCode {
    match err {
        DocumentError::TooLarge { .. } => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        DocumentError::TooDeep { .. } => PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX,
        DocumentError::NotAnObject { .. } => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        DocumentError::Syntax { .. } => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
    }
}

/// Raises the ERROR for a bad document argument.
pub fn raise_document(err: DocumentError) -> ! {
    raise(document_sqlstate(&err), err.to_string(), None)
}

/// Raises the ERROR for a failed resolution of an item of `type_name`:
/// 42P19 invalid_recursion (extends cycle), 23503 foreign_key_violation (missing parent),
/// 54001 statement_too_complex (chain too long), XX001 data_corrupted (a stored document
/// that cannot be read).
pub fn raise_resolve(type_name: &str, err: ResolveError<SourceError>) -> ! {
    let code = match &err {
        ResolveError::Cycle { .. } => PgSqlErrorCode::ERRCODE_INVALID_RECURSION,
        ResolveError::MissingParent { .. } => PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
        ResolveError::ChainTooLong { .. } => PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX,
        ResolveError::Source(_) => PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
    };
    raise(code, format!("{type_name}: {err}"), None)
}
