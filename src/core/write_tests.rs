use super::*;
use crate::core::canonical::checksum;
use proptest::prelude::{any, prop_oneof, proptest, Just};
use proptest::strategy::Strategy as _;
use serde_json::{json, Value};
use std::collections::HashMap;

fn stored(id: u32, state: State, version: i32, sum: &str) -> Stored<u32> {
    Stored {
        id,
        state,
        version,
        checksum: sum.to_owned(),
        attributes: Attributes::default(),
        base_checksum: None,
        base_version: None,
    }
}

fn request(sum: &str, state: State, on_conflict: OnConflict) -> SaveRequest {
    SaveRequest {
        checksum: sum.to_owned(),
        state,
        given: Given::default(),
        on_conflict,
        expected: Expectation::default(),
    }
}

fn rows(
    live: Option<Stored<u32>>,
    draft: Option<Stored<u32>>,
    archived: Option<Stored<u32>>,
) -> KeyRows<u32> {
    KeyRows {
        live,
        draft,
        archived,
    }
}

/// (target id, attributes) of a planned write, or "skip:<id>", or the error.
fn outcome(r: &SaveRequest, k: &KeyRows<u32>) -> String {
    match plan_save(r, k) {
        Ok(SavePlan::Skip(s)) => format!("skip:{}", s.id),
        Ok(SavePlan::Write(w)) => match w.target {
            Some(t) => format!("write:{}", t.id),
            None => "insert".to_owned(),
        },
        Err(e) => format!("error:{e}"),
    }
}

#[test]
fn on_conflict_by_the_state_of_the_layer() {
    let live = || Some(stored(1, State::Active, 3, "a"));
    let archived = || Some(stored(2, State::Archived, 5, "b"));
    let draft = || Some(stored(3, State::Draft, 2, "c"));
    let cases = [
        // (live, draft, archived, request state, on_conflict, outcome)
        (
            None,
            None,
            None,
            State::Active,
            OnConflict::Update,
            "insert",
        ),
        (None, None, None, State::Active, OnConflict::Error, "insert"),
        (None, None, None, State::Active, OnConflict::Skip, "insert"),
        (
            live(),
            None,
            None,
            State::Active,
            OnConflict::Update,
            "write:1",
        ),
        (
            live(),
            None,
            None,
            State::Active,
            OnConflict::Replace,
            "write:1",
        ),
        (
            live(),
            None,
            None,
            State::Active,
            OnConflict::Skip,
            "skip:1",
        ),
        (
            live(),
            None,
            None,
            State::Active,
            OnConflict::Error,
            "error:already exists (version 3)",
        ),
        // An archived layer is revived by any choice.
        (
            None,
            None,
            archived(),
            State::Active,
            OnConflict::Error,
            "write:2",
        ),
        (
            None,
            None,
            archived(),
            State::Active,
            OnConflict::Skip,
            "write:2",
        ),
        (
            None,
            None,
            archived(),
            State::Deprecated,
            OnConflict::Update,
            "write:2",
        ),
        // A draft save addresses the draft row only.
        (
            live(),
            None,
            None,
            State::Draft,
            OnConflict::Error,
            "insert",
        ),
        (
            live(),
            draft(),
            None,
            State::Draft,
            OnConflict::Skip,
            "skip:3",
        ),
        (
            None,
            draft(),
            archived(),
            State::Draft,
            OnConflict::Update,
            "write:3",
        ),
        (
            live(),
            draft(),
            None,
            State::Active,
            OnConflict::Update,
            "write:1",
        ),
    ];
    for (live, draft, archived, state, on_conflict, expected) in cases {
        let k = rows(live, draft, archived);
        let r = request("new", state, on_conflict);
        assert_eq!(
            outcome(&r, &k),
            expected,
            "{state:?} {on_conflict:?} over {k:?}"
        );
    }
}

#[test]
fn expected_version_and_checksum_are_checked_against_the_current_row() {
    let k = rows(
        Some(stored(1, State::Active, 3, "sha256:a")),
        None,
        Some(stored(2, State::Archived, 9, "x")),
    );
    let with = |version: Option<i32>, sum: Option<Option<&str>>| SaveRequest {
        expected: Expectation {
            version,
            checksum: sum.map(|s| s.map(str::to_owned)),
        },
        ..request("new", State::Active, OnConflict::Update)
    };
    assert_eq!(outcome(&with(Some(3), None), &k), "write:1");
    assert_eq!(
        outcome(&with(Some(2), None), &k),
        "error:version conflict: expected version 2, found 3"
    );
    assert_eq!(
        outcome(&with(Some(0), None), &k),
        "error:version conflict: expected version 0, found 3"
    );
    assert_eq!(outcome(&with(None, Some(Some("sha256:a"))), &k), "write:1");
    assert_eq!(
        outcome(&with(None, Some(None)), &k),
        "error:checksum conflict: expected none, found sha256:a"
    );
    assert_eq!(
        outcome(&with(Some(3), Some(Some("sha256:b"))), &k),
        "error:checksum conflict: expected sha256:b, found sha256:a"
    );
    // An archived row is not current: "must not exist" holds, and it is revived.
    let gone = rows(None, None, Some(stored(2, State::Archived, 9, "x")));
    assert_eq!(outcome(&with(Some(0), Some(None)), &gone), "write:2");
    assert_eq!(
        outcome(&with(Some(9), None), &gone),
        "error:version conflict: expected version 9, found 0"
    );
    // A draft's expectation is about the draft row.
    let d = rows(
        Some(stored(1, State::Active, 3, "a")),
        Some(stored(3, State::Draft, 2, "d")),
        None,
    );
    let draft_with = |version| SaveRequest {
        expected: Expectation {
            version: Some(version),
            checksum: None,
        },
        ..request("new", State::Draft, OnConflict::Update)
    };
    assert_eq!(outcome(&draft_with(2), &d), "write:3");
    assert!(outcome(&draft_with(3), &d).starts_with("error:version conflict"));
}

#[test]
fn update_keeps_attributes_not_given_replace_and_revival_take_defaults() {
    let mut current = stored(1, State::Active, 1, "a");
    current.attributes = Attributes {
        strategy: Strategy::Replace,
        extends: Some("parent".into()),
        namespace: "crm".into(),
        tags: vec!["t".into()],
        source: "filesystem".into(),
        managed_by: "package".into(),
        package_id: Some("crm".into()),
        package_version: Some("1.0.0".into()),
    };
    let k = rows(Some(current.clone()), None, None);
    let mut r = request("new", State::Active, OnConflict::Update);
    r.given.namespace = Some("sales".into());
    let SavePlan::Write(w) = plan_save(&r, &k).unwrap() else {
        panic!()
    };
    assert_eq!(
        w.attributes,
        Attributes {
            namespace: "sales".into(),
            ..current.attributes.clone()
        }
    );
    r.on_conflict = OnConflict::Replace;
    let SavePlan::Write(w) = plan_save(&r, &k).unwrap() else {
        panic!()
    };
    assert_eq!(
        w.attributes,
        Attributes {
            namespace: "sales".into(),
            ..Attributes::default()
        }
    );
    // extends may be given as "none": a rollback to a version without a parent.
    r.on_conflict = OnConflict::Update;
    r.given.extends = Some(None);
    let SavePlan::Write(w) = plan_save(&r, &k).unwrap() else {
        panic!()
    };
    assert_eq!(w.attributes.extends, None);
    assert_eq!(w.attributes.strategy, Strategy::Replace);
    // Revival of an archived row: the defaults.
    current.state = State::Archived;
    let k = rows(None, None, Some(current));
    let r = request("new", State::Active, OnConflict::Update);
    let SavePlan::Write(w) = plan_save(&r, &k).unwrap() else {
        panic!()
    };
    assert_eq!(w.attributes, Attributes::default());
}

#[test]
fn saving_what_is_stored_changes_nothing_but_a_new_base_is_a_change() {
    let mut current = stored(1, State::Active, 4, "same");
    current.base_checksum = Some("below".into());
    let k = rows(Some(current), None, None);
    let r = request("same", State::Active, OnConflict::Update);
    let SavePlan::Write(w) = plan_save(&r, &k).unwrap() else {
        panic!()
    };
    assert!(w.unchanged(&r, Some("below")));
    assert!(
        !w.unchanged(&r, Some("moved")),
        "acknowledging a new base is a change"
    );
    assert!(!w.unchanged(
        &request("other", State::Active, OnConflict::Update),
        Some("below")
    ));
    let deprecate = request("same", State::Deprecated, OnConflict::Update);
    let SavePlan::Write(w) = plan_save(&deprecate, &k).unwrap() else {
        panic!()
    };
    assert!(!w.unchanged(&deprecate, Some("below")));
    // A revived row is always a change.
    let k = rows(None, None, Some(stored(1, State::Archived, 4, "same")));
    let SavePlan::Write(w) = plan_save(&r, &k).unwrap() else {
        panic!()
    };
    assert!(!w.unchanged(&r, None));
}

#[test]
fn a_draft_records_the_live_version_it_was_saved_over() {
    let k = rows(Some(stored(1, State::Active, 7, "a")), None, None);
    let SavePlan::Write(w) =
        plan_save(&request("d", State::Draft, OnConflict::Update), &k).unwrap()
    else {
        panic!()
    };
    assert_eq!(w.base_version, Some(7));
    let none = rows(None, None, None);
    let SavePlan::Write(w) =
        plan_save(&request("d", State::Draft, OnConflict::Update), &none).unwrap()
    else {
        panic!()
    };
    assert_eq!(w.base_version, None);
    let SavePlan::Write(w) =
        plan_save(&request("d", State::Active, OnConflict::Update), &k).unwrap()
    else {
        panic!()
    };
    assert_eq!(w.base_version, None, "only drafts have a base version");
}

#[test]
fn publish_refuses_a_draft_whose_base_moved_unless_forced() {
    let draft = |base| Stored {
        base_version: base,
        ..stored(3, State::Draft, 2, "d")
    };
    let none = Expectation::default();
    assert_eq!(
        plan_publish(&rows(None, None, None), &none, false),
        Err(WriteError::NoDraft)
    );
    let k = rows(
        Some(stored(1, State::Active, 7, "a")),
        Some(draft(Some(7))),
        None,
    );
    assert!(matches!(
        plan_publish(&k, &none, false),
        Ok(PublishPlan::Replace { .. })
    ));
    let moved = rows(
        Some(stored(1, State::Active, 8, "a")),
        Some(draft(Some(7))),
        None,
    );
    assert_eq!(
        plan_publish(&moved, &none, false),
        Err(WriteError::BaseMoved {
            base: Some(7),
            live: Some(8)
        })
    );
    assert!(matches!(
        plan_publish(&moved, &none, true),
        Ok(PublishPlan::Replace { .. })
    ));
    // Saved over nothing, and still nothing live: the draft row becomes live.
    let fresh = rows(None, Some(draft(None)), None);
    assert!(
        matches!(plan_publish(&fresh, &none, false), Ok(PublishPlan::Activate(d)) if d.id == 3)
    );
    // A live row appeared (or went) since: the base moved.
    let appeared = rows(
        Some(stored(1, State::Active, 1, "a")),
        Some(draft(None)),
        None,
    );
    assert!(matches!(
        plan_publish(&appeared, &none, false),
        Err(WriteError::BaseMoved { .. })
    ));
    let went = rows(
        None,
        Some(draft(Some(7))),
        Some(stored(1, State::Archived, 8, "a")),
    );
    assert!(matches!(
        plan_publish(&went, &none, false),
        Err(WriteError::BaseMoved { .. })
    ));
    // The expectation is about the draft.
    let wrong = Expectation {
        version: Some(1),
        checksum: None,
    };
    assert!(matches!(
        plan_publish(&k, &wrong, false),
        Err(WriteError::VersionMismatch {
            expected: 1,
            found: 2
        })
    ));
}

#[test]
fn delete_archives_the_live_row_and_checks_the_expectation() {
    let k = rows(
        Some(stored(1, State::Active, 7, "a")),
        Some(stored(3, State::Draft, 1, "d")),
        None,
    );
    assert_eq!(
        plan_delete(&k, &Expectation::default())
            .unwrap()
            .map(|s| s.id),
        Some(1)
    );
    let gone = rows(None, None, Some(stored(2, State::Archived, 3, "a")));
    assert_eq!(plan_delete(&gone, &Expectation::default()), Ok(None));
    let zero = Expectation {
        version: Some(0),
        checksum: None,
    };
    assert_eq!(plan_delete(&gone, &zero), Ok(None));
    assert!(plan_delete(&k, &zero).is_err());
}

#[test]
fn key_rows_keep_the_newest_of_each_kind() {
    let k = KeyRows::from_rows(vec![
        stored(9, State::Archived, 2, "new"),
        stored(5, State::Deprecated, 1, "live"),
        stored(4, State::Archived, 8, "old"),
        stored(3, State::Draft, 1, "d"),
    ]);
    assert_eq!(k.archived.map(|a| a.id), Some(9));
    assert_eq!(k.live.map(|l| l.id), Some(5));
    assert_eq!(k.draft.map(|d| d.id), Some(3));
}

// ---------------------------------------------------------------------------------------
// Property test: random sequences of writes to a model table keep the invariants.
// ---------------------------------------------------------------------------------------

/// A row of the model table, as the write trigger keeps it: the version counts changes.
#[derive(Debug, Clone)]
struct Row {
    key: u8,
    stored: Stored<u32>,
    doc: Value,
    changes: i32,
}

#[derive(Debug, Clone)]
enum Op {
    Save {
        key: u8,
        doc: u8,
        state: State,
        on_conflict: OnConflict,
        /// 0: no expectation, 1: the right version, 2: a wrong one, 3: the right checksum.
        expect: u8,
        namespace: Option<u8>,
    },
    Publish {
        key: u8,
        force: bool,
    },
    Delete {
        key: u8,
    },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    let state = prop_oneof![
        Just(State::Active),
        Just(State::Draft),
        Just(State::Deprecated)
    ];
    let on_conflict = prop_oneof![
        Just(OnConflict::Update),
        Just(OnConflict::Error),
        Just(OnConflict::Skip),
        Just(OnConflict::Replace)
    ];
    prop_oneof![
        4 => (0..3u8, 0..4u8, state, on_conflict, 0..4u8, proptest::option::of(0..2u8)).prop_map(
            |(key, doc, state, on_conflict, expect, namespace)| Op::Save {
                key,
                doc,
                state,
                on_conflict,
                expect,
                namespace
            }
        ),
        1 => (0..3u8, any::<bool>()).prop_map(|(key, force)| Op::Publish { key, force }),
        1 => (0..3u8).prop_map(|key| Op::Delete { key }),
    ]
}

#[derive(Default)]
struct Model {
    rows: Vec<Row>,
    next_id: u32,
}

impl Model {
    fn key_rows(&self, key: u8) -> KeyRows<u32> {
        let mut of_key: Vec<&Row> = self.rows.iter().filter(|r| r.key == key).collect();
        of_key.sort_by_key(|r| std::cmp::Reverse(r.stored.id));
        KeyRows::from_rows(of_key.into_iter().map(|r| r.stored.clone()))
    }

    fn row(&mut self, id: u32) -> &mut Row {
        self.rows.iter_mut().find(|r| r.stored.id == id).unwrap()
    }

    /// What the write trigger does to an UPDATE that changes the row: version + 1.
    fn change(&mut self, id: u32, f: impl FnOnce(&mut Row)) {
        let row = self.row(id);
        f(row);
        row.stored.checksum = checksum(&row.doc);
        row.stored.version += 1;
        row.changes += 1;
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Save {
                key,
                doc,
                state,
                on_conflict,
                expect,
                namespace,
            } => {
                let doc = json!({ "doc": doc });
                let rows = self.key_rows(key);
                let current = if state == State::Draft {
                    &rows.draft
                } else {
                    &rows.live
                };
                let expected = match expect {
                    1 => Expectation {
                        version: Some(current.as_ref().map_or(0, |c| c.version)),
                        checksum: None,
                    },
                    2 => Expectation {
                        version: Some(current.as_ref().map_or(0, |c| c.version) + 1),
                        checksum: None,
                    },
                    3 => Expectation {
                        version: None,
                        checksum: Some(current.as_ref().map(|c| c.checksum.clone())),
                    },
                    _ => Expectation::default(),
                };
                let request = SaveRequest {
                    checksum: checksum(&doc),
                    state,
                    given: Given {
                        namespace: namespace.map(|n| format!("ns{n}")),
                        ..Given::default()
                    },
                    on_conflict,
                    expected,
                };
                let plan = plan_save(&request, &rows);
                if expect == 2 {
                    assert!(
                        matches!(plan, Err(WriteError::VersionMismatch { .. })),
                        "{plan:?}"
                    );
                }
                let Ok(SavePlan::Write(write)) = plan else {
                    return;
                };
                if write.unchanged(&request, None) {
                    return;
                }
                let attributes = write.attributes.clone();
                let base_version = write.base_version;
                match write.target.map(|t| t.id) {
                    Some(id) => self.change(id, |row| {
                        row.doc = doc;
                        row.stored.state = state;
                        row.stored.attributes = attributes;
                        row.stored.base_version = base_version;
                    }),
                    None => {
                        self.next_id += 1;
                        self.rows.push(Row {
                            key,
                            stored: Stored {
                                id: self.next_id,
                                state,
                                version: 1,
                                checksum: checksum(&doc),
                                attributes,
                                base_checksum: None,
                                base_version,
                            },
                            doc,
                            changes: 1,
                        });
                    }
                }
            }
            Op::Publish { key, force } => {
                let rows = self.key_rows(key);
                match plan_publish(&rows, &Expectation::default(), force) {
                    Ok(PublishPlan::Activate(draft)) => {
                        let id = draft.id;
                        self.change(id, |row| {
                            row.stored.state = State::Active;
                            row.stored.base_version = None;
                        })
                    }
                    Ok(PublishPlan::Replace { live, draft }) => {
                        let (live_id, draft_id) = (live.id, draft.id);
                        let draft_row = self.row(draft_id).clone();
                        self.change(live_id, |row| {
                            row.doc = draft_row.doc;
                            row.stored.state = State::Active;
                            row.stored.attributes = draft_row.stored.attributes;
                        });
                        self.rows.retain(|r| r.stored.id != draft_id);
                    }
                    Err(_) => {}
                }
            }
            Op::Delete { key } => {
                let rows = self.key_rows(key);
                if let Ok(Some(live)) = plan_delete(&rows, &Expectation::default()) {
                    let id = live.id;
                    self.change(id, |row| row.stored.state = State::Archived);
                }
            }
        }
    }

    fn check_invariants(&self) {
        let mut live: HashMap<u8, usize> = HashMap::new();
        let mut drafts: HashMap<u8, usize> = HashMap::new();
        for row in &self.rows {
            if row.stored.state.is_live() {
                *live.entry(row.key).or_default() += 1;
            }
            if row.stored.state == State::Draft {
                *drafts.entry(row.key).or_default() += 1;
            }
            assert_eq!(
                row.stored.version, row.changes,
                "version = number of changes"
            );
            assert_eq!(
                row.stored.checksum,
                checksum(&row.doc),
                "checksum of the stored document"
            );
        }
        assert!(
            live.values().all(|&n| n <= 1),
            "one live row per key: {live:?}"
        );
        assert!(
            drafts.values().all(|&n| n <= 1),
            "one draft per key: {drafts:?}"
        );
    }
}

proptest! {
    #[test]
    fn random_writes_keep_versions_checksums_and_one_live_and_draft_row_per_key(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let mut model = Model::default();
        for op in &ops {
            model.apply(op);
            model.check_invariants();
        }
    }
}
