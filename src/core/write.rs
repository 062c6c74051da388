//! Write decisions (DESIGN §4 "Items", "Concurrency"): given a request and the stored rows
//! of its layer key, what `save`, `publish` and `delete` do (`rollback` is a save of an old
//! version). Pure: the pgrx layer (`src/pg/write.rs`) locks the rows, asks here, resolves
//! and checks the result, and writes what was decided.
//!
//! A layer key (tenant, type, name, scope, owner) has at most one live row (active or
//! deprecated), at most one draft row, and any number of archived rows (the newest is the
//! one a save revives).

use crate::core::layers::{OnConflict, State, Strategy};
use std::fmt;

/// The attributes of a layer besides its document: what `on_conflict => 'update'` keeps
/// when a save does not give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub strategy: Strategy,
    pub extends: Option<String>,
    pub namespace: String,
    pub tags: Vec<String>,
    pub source: String,
    pub managed_by: String,
    pub package_id: Option<String>,
    pub package_version: Option<String>,
}

impl Default for Attributes {
    /// The attributes of a new layer (the column defaults of `sys_metadata`).
    fn default() -> Self {
        Attributes {
            strategy: Strategy::Merge,
            extends: None,
            namespace: "default".to_owned(),
            tags: Vec::new(),
            source: "database".to_owned(),
            managed_by: "platform".to_owned(),
            package_id: None,
            package_version: None,
        }
    }
}

/// The attributes a request gives; `None` is "not given". `extends` may be given as
/// "none" (`Some(None)`, what a rollback to a version without a parent does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    pub strategy: Option<Strategy>,
    pub extends: Option<Option<String>>,
    pub namespace: Option<String>,
    pub tags: Option<Vec<String>>,
    pub source: Option<String>,
    pub managed_by: Option<String>,
    pub package_id: Option<String>,
    pub package_version: Option<String>,
}

impl Given {
    /// The given attributes over `base`: each one not given is taken from `base`.
    pub fn over(&self, base: &Attributes) -> Attributes {
        Attributes {
            strategy: self.strategy.unwrap_or(base.strategy),
            extends: self.extends.clone().unwrap_or_else(|| base.extends.clone()),
            namespace: self
                .namespace
                .clone()
                .unwrap_or_else(|| base.namespace.clone()),
            tags: self.tags.clone().unwrap_or_else(|| base.tags.clone()),
            source: self.source.clone().unwrap_or_else(|| base.source.clone()),
            managed_by: self
                .managed_by
                .clone()
                .unwrap_or_else(|| base.managed_by.clone()),
            package_id: self.package_id.clone().or_else(|| base.package_id.clone()),
            package_version: self
                .package_version
                .clone()
                .or_else(|| base.package_version.clone()),
        }
    }
}

/// A stored row of the layer key; `Id` is how the caller names rows (a uuid there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<Id> {
    pub id: Id,
    pub state: State,
    pub version: i32,
    pub checksum: String,
    pub attributes: Attributes,
    pub base_checksum: Option<String>,
    /// Of a draft: the version of the live row it was saved over (`None`: there was none).
    pub base_version: Option<i32>,
}

/// The rows of one layer key that writes look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRows<Id> {
    pub live: Option<Stored<Id>>,
    pub draft: Option<Stored<Id>>,
    /// The newest archived row.
    pub archived: Option<Stored<Id>>,
}

impl<Id> KeyRows<Id> {
    /// Sorts the rows of a key, given newest first, into live, draft and newest archived.
    pub fn from_rows(rows: impl IntoIterator<Item = Stored<Id>>) -> KeyRows<Id> {
        let mut key = KeyRows {
            live: None,
            draft: None,
            archived: None,
        };
        for row in rows {
            let slot = match row.state {
                State::Draft => &mut key.draft,
                State::Archived => &mut key.archived,
                State::Active | State::Deprecated => &mut key.live,
            };
            if slot.is_none() {
                *slot = Some(row);
            }
        }
        key
    }
}

/// What the writer last read (optimistic concurrency); every part given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    /// The version read; 0 = the layer must not exist.
    pub version: Option<i32>,
    /// The `sha256:` checksum read; `Some(None)` = the layer must not exist.
    pub checksum: Option<Option<String>>,
}

impl Expectation {
    /// Checks the expectation against the current row (`None`: the layer does not exist).
    pub fn check<Id>(&self, current: Option<&Stored<Id>>) -> Result<(), WriteError> {
        if let Some(expected) = self.version {
            let found = current.map_or(0, |c| c.version);
            if expected != found {
                return Err(WriteError::VersionMismatch { expected, found });
            }
        }
        if let Some(expected) = &self.checksum {
            let found = current.map(|c| c.checksum.clone());
            if *expected != found {
                return Err(WriteError::ChecksumMismatch {
                    expected: expected.clone(),
                    found,
                });
            }
        }
        Ok(())
    }
}

/// A save of one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    /// Checksum of the document to store.
    pub checksum: String,
    /// Active, draft or deprecated (a save never archives).
    pub state: State,
    pub given: Given,
    pub on_conflict: OnConflict,
    pub expected: Expectation,
}

/// What a save does.
#[derive(Debug, PartialEq, Eq)]
pub enum SavePlan<'a, Id> {
    /// `on_conflict => 'skip'` over an existing layer: it is returned as it is.
    Skip(&'a Stored<Id>),
    /// Write the layer (after resolving and checking it): see [`Write`].
    Write(Write<'a, Id>),
}

/// A save that writes: into `target` (an update, or the revival of an archived row), or a
/// new row when there is none.
#[derive(Debug, PartialEq, Eq)]
pub struct Write<'a, Id> {
    pub target: Option<&'a Stored<Id>>,
    pub attributes: Attributes,
    /// For a draft: the version of the live row now (stored with it, checked by publish).
    pub base_version: Option<i32>,
}

impl<Id> Write<'_, Id> {
    /// Whether writing would change nothing: the target is current (not archived) and has
    /// the same document, state, attributes and bases. Then not even the version moves.
    pub fn unchanged(&self, request: &SaveRequest, base_checksum: Option<&str>) -> bool {
        self.target.is_some_and(|t| {
            t.state != State::Archived
                && t.checksum == request.checksum
                && t.state == request.state
                && t.attributes == self.attributes
                && t.base_checksum.as_deref() == base_checksum
                && t.base_version == self.base_version
        })
    }
}

/// Decides a save over the rows of its key. The row a draft save addresses is the draft
/// row; a live save addresses the live row, else the newest archived one (revived). The
/// expectation is checked against the current (non-archived) row; over an existing layer,
/// `error` refuses, `skip` returns it, `update` keeps the attributes not given, `replace`
/// (like a new or revived row) takes the given ones and the defaults.
pub fn plan_save<'a, Id>(
    request: &SaveRequest,
    rows: &'a KeyRows<Id>,
) -> Result<SavePlan<'a, Id>, WriteError> {
    let (current, target) = if request.state == State::Draft {
        (rows.draft.as_ref(), rows.draft.as_ref())
    } else {
        (
            rows.live.as_ref(),
            rows.live.as_ref().or(rows.archived.as_ref()),
        )
    };
    request.expected.check(current)?;
    let attributes = match (current, request.on_conflict) {
        (Some(current), OnConflict::Error) => {
            return Err(WriteError::Exists {
                version: current.version,
            })
        }
        (Some(current), OnConflict::Skip) => return Ok(SavePlan::Skip(current)),
        (Some(current), OnConflict::Update) => request.given.over(&current.attributes),
        _ => request.given.over(&Attributes::default()),
    };
    let base_version = if request.state == State::Draft {
        rows.live.as_ref().map(|l| l.version)
    } else {
        None
    };
    Ok(SavePlan::Write(Write {
        target,
        attributes,
        base_version,
    }))
}

/// What a publish does.
#[derive(Debug, PartialEq, Eq)]
pub enum PublishPlan<'a, Id> {
    /// No live row: the draft row becomes the live row.
    Activate(&'a Stored<Id>),
    /// The live row takes the draft's document and attributes; the draft row goes.
    Replace {
        live: &'a Stored<Id>,
        draft: &'a Stored<Id>,
    },
}

/// Decides a publish: the draft must exist (else [`WriteError::NoDraft`]) and match the
/// expectation, and the live row must still be the version the draft was saved over
/// (else [`WriteError::BaseMoved`], unless `force`), so no change to the live layer is lost.
pub fn plan_publish<'a, Id>(
    rows: &'a KeyRows<Id>,
    expected: &Expectation,
    force: bool,
) -> Result<PublishPlan<'a, Id>, WriteError> {
    let draft = rows.draft.as_ref().ok_or(WriteError::NoDraft)?;
    expected.check(Some(draft))?;
    let live_version = rows.live.as_ref().map(|l| l.version);
    if !force && draft.base_version != live_version {
        return Err(WriteError::BaseMoved {
            base: draft.base_version,
            live: live_version,
        });
    }
    Ok(match &rows.live {
        Some(live) => PublishPlan::Replace { live, draft },
        None => PublishPlan::Activate(draft),
    })
}

/// Decides a delete (archive): the live row to archive, `None` when there is none; the
/// expectation is checked either way.
pub fn plan_delete<'a, Id>(
    rows: &'a KeyRows<Id>,
    expected: &Expectation,
) -> Result<Option<&'a Stored<Id>>, WriteError> {
    expected.check(rows.live.as_ref())?;
    Ok(rows.live.as_ref())
}

/// Why a write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// `on_conflict => 'error'` and the layer exists (SQLSTATE 23505).
    Exists { version: i32 },
    /// `expected_version` differs from the current version, 0 = absent (40001).
    VersionMismatch { expected: i32, found: i32 },
    /// `expected_checksum` differs from the current checksum, `None` = absent (40001).
    ChecksumMismatch {
        expected: Option<String>,
        found: Option<String>,
    },
    /// Publish without a draft (P0002).
    NoDraft,
    /// Publish of a draft saved over another version of the live row than there is now
    /// (40001).
    BaseMoved {
        base: Option<i32>,
        live: Option<i32>,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let absent = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".to_owned());
        match self {
            WriteError::Exists { version } => write!(f, "already exists (version {version})"),
            WriteError::VersionMismatch { expected, found } => {
                write!(f, "version conflict: expected version {expected}, found {found}")
            }
            WriteError::ChecksumMismatch { expected, found } => write!(
                f,
                "checksum conflict: expected {}, found {}",
                absent(expected),
                absent(found)
            ),
            WriteError::NoDraft => write!(f, "there is no draft to publish"),
            WriteError::BaseMoved { base, live } => write!(
                f,
                "the live layer changed after its draft was saved (draft saved over {}, live now {})",
                base.map_or("none".to_owned(), |v| format!("version {v}")),
                live.map_or("none".to_owned(), |v| format!("version {v}"))
            ),
        }
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
