//! What a write function tells the triggers about the statement it is running, in backend
//! memory that only this library can set (no setting a caller could forge):
//! * the write intent: the layer `save`, `publish` or `rollback` has already resolved,
//!   checked and hashed, so the write trigger takes its checksum and bases from here
//!   instead of doing that work again (a plain SQL write has no intent: the trigger does it);
//! * the operation the history records (`publish`, `revert`, `upgrade`, or `skip` for the
//!   draft row a publish removes), and the change note, which the history trigger records.
//!
//! Both hold only while the write function's one statement runs ([`during`]).

use crate::core::layers::{Scope, Strategy};
use crate::pg::jsonb::JsonbBytes;
use std::cell::{Cell, RefCell};

/// Reference paths of a type: `(JSON Pointer with *, target type)`.
pub type ReferencePaths = Vec<(String, String)>;

/// A layer about to be written, as checked by the write function.
#[derive(Debug, Clone)]
pub struct Intent {
    pub tenant: Option<String>,
    pub type_name: String,
    pub name: String,
    pub scope: Scope,
    pub owner: Option<String>,
    pub strategy: Strategy,
    pub extends: Option<String>,
    /// The document, as the statement passes it to the table.
    pub doc: JsonbBytes,
    pub checksum: String,
    pub base_checksum: Option<String>,
    pub base_version: Option<i32>,
    /// The type checks references: the layer is checked again at commit.
    pub check_references: bool,
    /// The type's reference paths, for the dependency edges the history trigger keeps.
    pub reference_paths: Vec<(String, String)>,
}

/// The history operation a write function names (`None`: derived from the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Publish,
    Revert,
    /// A change `upgrade_package` makes: a package item's new base, an overlay rebased over
    /// it, an item the new version no longer ships (deprecated).
    Upgrade,
    /// The change is part of another one and gets no history row (a publish's draft row).
    Skip,
}

impl Op {
    /// The operation as the history records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Publish => "publish",
            Op::Revert => "revert",
            Op::Upgrade => "upgrade",
            Op::Skip => "skip",
        }
    }
}

thread_local! {
    static INTENT: RefCell<Option<Intent>> = const { RefCell::new(None) };
    static OP: Cell<Option<Op>> = const { Cell::new(None) };
    static NOTE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The intent's type and reference paths, for the whole statement (the write trigger
    /// takes the intent itself).
    static PATHS: RefCell<Option<(String, ReferencePaths)>> = const { RefCell::new(None) };
}

/// Runs `f` (one statement) with `intent`, `op` and the change `note` visible to the
/// triggers it fires; all are cleared afterwards, also when `f` raises an error.
pub fn during<R>(
    intent: Option<Intent>,
    op: Option<Op>,
    note: Option<&str>,
    f: impl FnOnce() -> R,
) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            INTENT.with(|i| i.borrow_mut().take());
            OP.with(|o| o.set(None));
            NOTE.with(|n| n.borrow_mut().take());
            PATHS.with(|p| p.borrow_mut().take());
        }
    }
    PATHS.with(|p| {
        *p.borrow_mut() = intent
            .as_ref()
            .map(|i| (i.type_name.clone(), i.reference_paths.clone()))
    });
    INTENT.with(|i| *i.borrow_mut() = intent);
    OP.with(|o| o.set(op));
    NOTE.with(|n| *n.borrow_mut() = note.filter(|n| !n.is_empty()).map(str::to_owned));
    let _clear = Clear;
    f()
}

/// The reference paths of `type_name` as the running write function read them (`None`
/// outside one, or for another type: the caller reads the registration).
pub fn statement_reference_paths(type_name: &str) -> Option<ReferencePaths> {
    PATHS.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|(t, _)| t == type_name)
            .map(|(_, paths)| paths.clone())
    })
}

/// The intent, taken, if it is about the row the trigger sees: the same layer key, strategy,
/// extends and document bytes. A row that differs is checked by the trigger itself.
pub fn take_if(matches: impl FnOnce(&Intent) -> bool) -> Option<Intent> {
    INTENT.with(|i| {
        let mut slot = i.borrow_mut();
        if slot.as_ref().is_some_and(matches) {
            slot.take()
        } else {
            None
        }
    })
}

/// The history operation the write function running names (`None`: the history trigger
/// derives create, update or delete from the change).
pub fn current_op() -> Option<Op> {
    OP.with(Cell::get)
}

/// The change note of the write function running (its `change_note`), if any.
pub fn current_note() -> Option<String> {
    NOTE.with(|n| n.borrow().clone())
}

thread_local! {
    /// `Some(cascade)` while `delete(...)` archives a row.
    static DELETING: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Runs `f` (the statement of `delete(...)` that archives a layer) with [`deleting`] set:
/// the history trigger leaves the dependents check to `delete`, which runs it after the
/// statement (raising from the trigger would cross the SPI boundary).
pub fn deleting<R>(cascade: bool, f: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            DELETING.with(|c| c.set(None));
        }
    }
    DELETING.with(|c| c.set(Some(cascade)));
    let _clear = Clear;
    f()
}

/// Whether the running statement is `delete(...)`'s archive (its `cascade` then).
pub fn deleting_now() -> Option<bool> {
    DELETING.with(Cell::get)
}
