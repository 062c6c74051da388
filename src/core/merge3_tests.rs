use super::*;
use crate::core::resolve::merge_patch;
use proptest::prelude::{prop, prop_assert, prop_assert_eq, prop_oneof, proptest, Just};
use proptest::strategy::Strategy as Generator;
use serde_json::json;

fn none(_: &str) -> Option<Resolution> {
    None
}

fn run(o: Value, n: Value, c: Value, strategy: Strategy) -> Merged {
    merge3(&o, &n, &c, strategy, &none)
}

fn outcomes(m: &Merged) -> Vec<(&str, Outcome, Kind)> {
    m.findings
        .iter()
        .map(|f| (f.path.as_str(), f.outcome, f.kind))
        .collect()
}

#[test]
fn untouched_paths_take_the_new_base() {
    let m = run(
        json!({"label": "Account", "fields": {"a": 1}}),
        json!({"label": "Account", "fields": {"a": 1, "b": 2}, "icon": "x"}),
        json!({"label": "Client", "fields": {"a": 1}}),
        Strategy::ThreeWayMerge,
    );
    assert_eq!(
        m.doc,
        json!({"label": "Client", "fields": {"a": 1, "b": 2}, "icon": "x"})
    );
    assert!(m.findings.is_empty());
}

#[test]
fn a_change_both_made_is_kept_and_drops_out_of_the_patch() {
    let old = json!({"label": "Account"});
    let new = json!({"label": "Customer"});
    let m = run(
        old,
        new.clone(),
        json!({"label": "Customer"}),
        Strategy::ThreeWayMerge,
    );
    assert_eq!(m.doc, new);
    assert!(m.findings.is_empty());
    assert_eq!(merge_patch_diff(&new, &m.doc), Some(json!({})));
}

#[test]
fn differing_changes_follow_the_strategy() {
    let (o, n, c) = (
        json!({"label": "Account", "x": 1}),
        json!({"label": "Customer", "x": 1}),
        json!({"label": "Client", "x": 1}),
    );
    let three = run(o.clone(), n.clone(), c.clone(), Strategy::ThreeWayMerge);
    assert!(three.has_conflicts());
    assert_eq!(
        outcomes(&three),
        vec![("/label", Outcome::Conflict, Kind::ModifyModify)]
    );
    let f = &three.findings[0];
    assert_eq!(
        (f.old_base.clone(), f.new_base.clone(), f.custom.clone()),
        (
            Some(json!("Account")),
            Some(json!("Customer")),
            Some(json!("Client"))
        )
    );
    let keep = run(o.clone(), n.clone(), c.clone(), Strategy::KeepCustom);
    assert_eq!(keep.doc["label"], "Client");
    assert_eq!(
        outcomes(&keep),
        vec![("/label", Outcome::Masked, Kind::ModifyModify)]
    );
    let accept = run(o, n, c, Strategy::AcceptIncoming);
    assert_eq!(accept.doc["label"], "Customer");
    assert_eq!(
        outcomes(&accept),
        vec![("/label", Outcome::Overwritten, Kind::ModifyModify)]
    );
}

#[test]
fn a_removed_subtree_that_the_overlay_edits_conflicts_at_the_subtree() {
    let m = run(
        json!({"fields": {"a": {"type": "text", "label": "A"}}}),
        json!({"fields": {}}),
        json!({"fields": {"a": {"type": "text", "label": "Renamed"}}}),
        Strategy::ThreeWayMerge,
    );
    assert_eq!(
        outcomes(&m),
        vec![("/fields/a", Outcome::Conflict, Kind::DeleteModify)]
    );
    let accept = run(
        json!({"fields": {"a": {"label": "A"}}}),
        json!({"fields": {}}),
        json!({"fields": {"a": {"label": "Renamed"}}}),
        Strategy::AcceptIncoming,
    );
    assert_eq!(accept.doc, json!({"fields": {}}));
}

#[test]
fn an_overlay_that_removed_what_the_package_changed_is_modify_delete() {
    let m = run(
        json!({"help": "old"}),
        json!({"help": "new"}),
        json!({}),
        Strategy::KeepCustom,
    );
    assert_eq!(
        outcomes(&m),
        vec![("/help", Outcome::Masked, Kind::ModifyDelete)]
    );
    assert_eq!(m.doc, json!({}));
}

#[test]
fn resolutions_decide_per_path() {
    let (o, n, c) = (
        json!({"a": 1, "b": 1, "c": 1}),
        json!({"a": 2, "b": 2, "c": 2}),
        json!({"a": 3, "b": 3, "c": 3}),
    );
    let resolve = |p: &str| match p {
        "/a" => Some(Resolution::Custom),
        "/b" => Some(Resolution::Incoming),
        "/c" => Some(Resolution::Value(Some(json!(9)))),
        _ => None,
    };
    let m = merge3(&o, &n, &c, Strategy::ThreeWayMerge, &resolve);
    assert_eq!(m.doc, json!({"a": 3, "b": 2, "c": 9}));
    assert!(!m.has_conflicts());
    assert!(m.findings.iter().all(|f| f.outcome == Outcome::Resolved));
    let remove = |p: &str| (p == "/a").then_some(Resolution::Value(None));
    let m = merge3(&o, &n, &c, Strategy::ThreeWayMerge, &remove);
    assert!(m.doc.get("a").is_none());
    assert_eq!(
        outcomes(&m)
            .iter()
            .filter(|f| f.1 == Outcome::Conflict)
            .count(),
        2
    );
}

#[test]
fn arrays_are_single_values() {
    let m = run(
        json!({"columns": ["a", "b"]}),
        json!({"columns": ["a", "b", "c"]}),
        json!({"columns": ["b", "a"]}),
        Strategy::ThreeWayMerge,
    );
    assert_eq!(
        outcomes(&m),
        vec![("/columns", Outcome::Conflict, Kind::ModifyModify)]
    );
}

#[test]
fn paths_are_json_pointers() {
    let m = run(
        json!({"a/b": {"~": 1}}),
        json!({"a/b": {"~": 2}}),
        json!({"a/b": {"~": 3}}),
        Strategy::ThreeWayMerge,
    );
    assert_eq!(m.findings[0].path, "/a~1b/~0");
}

#[test]
fn merge_patch_diff_is_minimal_and_refuses_nulls() {
    assert_eq!(
        merge_patch_diff(
            &json!({"a": 1, "b": {"x": 1, "y": 2}, "c": 3}),
            &json!({"a": 1, "b": {"x": 1, "y": 5}, "d": [null]})
        ),
        Some(json!({"b": {"y": 5}, "c": null, "d": [null]}))
    );
    assert_eq!(merge_patch_diff(&json!({}), &json!({"a": null})), None);
    assert_eq!(
        merge_patch_diff(&json!({"a": 1}), &json!({"a": {"b": null}})),
        None
    );
    assert_eq!(merge_patch_diff(&json!({}), &json!([1])), None);
}

fn overlay(id: &str, rank: u8, tenant: Option<&str>, owner: Option<&str>, doc: Value) -> Overlay {
    Overlay {
        id: id.to_owned(),
        rank,
        tenant: tenant.map(str::to_owned),
        owner: owner.map(str::to_owned),
        strategy: crate::core::layers::Strategy::Merge,
        doc,
    }
}

#[test]
fn overlays_are_planned_over_what_is_below_them_now() {
    let old = json!({"label": "Account", "icon": "a", "fields": {"name": {"type": "text"}}});
    let new = json!({"label": "Account", "icon": "b", "fields": {"name": {"type": "text"}, "rating": {"type": "number"}}});
    let overlays = vec![
        // A user's overlay over acme's: planned after it, over its result.
        overlay("u", 3, Some("acme"), Some("ann"), json!({"label": "Mine"})),
        overlay(
            "p",
            2,
            Some("acme"),
            None,
            json!({"label": "Client", "icon": "b"}),
        ),
        overlay("g", 2, Some("globex"), None, json!({"icon": "c"})),
    ];
    let plans = plan_overlays(&old, &new, &overlays, Strategy::ThreeWayMerge, &|_, _| None);
    let by_id = |id: &str| plans.iter().find(|p| p.id == id).unwrap();
    // acme changed the icon to what the package now ships: that part of its patch goes.
    assert_eq!(by_id("p").doc, json!({"label": "Client"}));
    assert!(by_id("p").changed && by_id("p").findings.is_empty());
    // ann's patch is unchanged: only the label, over acme's result.
    assert_eq!(by_id("u").doc, json!({"label": "Mine"}));
    assert!(!by_id("u").changed);
    // globex set another icon than the package's new one: a conflict, its patch kept.
    assert_eq!(by_id("g").doc, json!({"icon": "c"}));
    assert_eq!(by_id("g").findings[0].path, "/icon");
    assert_eq!(by_id("g").findings[0].outcome, Outcome::Conflict);
    assert_eq!(
        plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["p", "g", "u"]
    );
}

#[test]
fn replace_overlays_stay_and_inexpressible_results_become_replacements() {
    let mut r = overlay("r", 2, Some("acme"), None, json!({"whole": true}));
    r.strategy = crate::core::layers::Strategy::Replace;
    let plans = plan_overlays(
        &json!({"a": 1}),
        &json!({"a": 2}),
        &[r],
        Strategy::ThreeWayMerge,
        &|_, _| None,
    );
    assert_eq!(
        (plans[0].doc.clone(), plans[0].changed),
        (json!({"whole": true}), false)
    );
    // A resolution that sets a null: no merge patch can say that (null removes).
    let o = overlay("o", 2, Some("acme"), None, json!({"a": 3, "b": 1}));
    let null = |_: &Overlay, p: &str| (p == "/a").then_some(Resolution::Value(Some(Value::Null)));
    let plans = plan_overlays(
        &json!({"a": 1}),
        &json!({"a": 2}),
        &[o],
        Strategy::ThreeWayMerge,
        &null,
    );
    assert_eq!(plans[0].strategy, crate::core::layers::Strategy::Replace);
    assert_eq!(plans[0].doc, json!({"a": null, "b": 1}));
    assert!(plans[0].changed);
}

fn leaf() -> impl Generator<Value = Value> {
    prop_oneof![
        Just(json!(1)),
        Just(json!(2)),
        Just(json!("x")),
        Just(json!([1, 2])),
    ]
}

fn doc() -> impl Generator<Value = Value> {
    let member = leaf().prop_recursive(2, 12, 3, |inner| {
        prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), inner, 0..3)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    });
    prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c", "d"]), member, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// A merge patch: a document whose members may also be `null` (remove).
fn patch() -> impl Generator<Value = Value> {
    let member = prop_oneof![leaf(), Just(Value::Null)].prop_recursive(2, 12, 3, |inner| {
        prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), inner, 0..3)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    });
    prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c", "d"]), member, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// Every JSON Pointer of `doc` (the root, each member of each object), with its value.
fn pointers(doc: &Value, at: String, out: &mut Vec<String>) {
    if let Value::Object(m) = doc {
        for (k, v) in m {
            let p = format!("{at}/{}", escape_token(k));
            out.push(p.clone());
            pointers(v, p, out);
        }
    }
}

/// The pointers of `o`, `n` and `c` together, except those at or under a finding.
fn unreported(o: &Value, n: &Value, c: &Value, m: &Merged) -> Vec<String> {
    let mut all = Vec::new();
    for d in [o, n, c] {
        pointers(d, String::new(), &mut all);
    }
    all.sort();
    all.dedup();
    all.retain(|p| {
        !m.findings
            .iter()
            .any(|f| p == &f.path || p.starts_with(&format!("{}/", f.path)))
    });
    all
}

proptest! {
    /// For a random old base O, customisation C = O with a merge patch applied, and new
    /// base N: at every pointer no finding covers, the result is C's value where only C
    /// changed it and N's where only N did; at every finding, accept-incoming gives N's
    /// value (absent where N has none), keep-custom C's.
    #[test]
    fn each_pointer_comes_from_the_side_that_changed_it(o in doc(), p in patch(), n in doc()) {
        let mut c = o.clone();
        merge_patch(&mut c, &p);
        for strategy in [Strategy::ThreeWayMerge, Strategy::KeepCustom, Strategy::AcceptIncoming] {
            let m = run(o.clone(), n.clone(), c.clone(), strategy);
            for at in unreported(&o, &n, &c, &m) {
                let (ov, nv, cv, mv) = (o.pointer(&at), n.pointer(&at), c.pointer(&at), m.doc.pointer(&at));
                if nv == ov {
                    prop_assert_eq!(mv, cv, "only the customisation changed {}", at);
                }
                if cv == ov {
                    prop_assert_eq!(mv, nv, "only the package changed {}", at);
                }
            }
            for f in &m.findings {
                let want = match strategy {
                    Strategy::AcceptIncoming => n.pointer(&f.path),
                    _ => c.pointer(&f.path),
                };
                prop_assert_eq!(m.doc.pointer(&f.path), want, "at the finding {}", &f.path);
            }
        }
    }

    /// Not customised: the new base. Package unchanged: the customisation.
    #[test]
    fn the_trivial_cases(o in doc(), n in doc(), c in doc()) {
        prop_assert_eq!(run(o.clone(), n.clone(), o.clone(), Strategy::ThreeWayMerge).doc, n.clone());
        prop_assert_eq!(run(o.clone(), o.clone(), c.clone(), Strategy::ThreeWayMerge).doc, c);
    }

    /// The strategies find the same paths and agree everywhere else; without findings
    /// they give the same document.
    #[test]
    fn strategies_differ_only_at_findings(o in doc(), n in doc(), c in doc()) {
        let three = run(o.clone(), n.clone(), c.clone(), Strategy::ThreeWayMerge);
        let keep = run(o.clone(), n.clone(), c.clone(), Strategy::KeepCustom);
        let accept = run(o, n, c, Strategy::AcceptIncoming);
        let paths = |m: &Merged| m.findings.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        prop_assert_eq!(paths(&three), paths(&keep));
        prop_assert_eq!(paths(&three), paths(&accept));
        if three.findings.is_empty() {
            prop_assert_eq!(&keep.doc, &accept.doc);
            prop_assert_eq!(&three.doc, &keep.doc);
        }
        // Where three-way-merge conflicts it keeps the customisation, as keep-custom does.
        prop_assert_eq!(&three.doc, &keep.doc);
    }

    /// The stored overlay (the merge patch from the new base) gives back the merged
    /// document, and re-running the same upgrade over it changes nothing.
    #[test]
    fn the_overlay_reproduces_the_result_and_a_rerun_is_a_no_op(o in doc(), n in doc(), c in doc()) {
        let m = run(o, n.clone(), c, Strategy::KeepCustom);
        if let Some(patch) = merge_patch_diff(&n, &m.doc) {
            let mut back = n.clone();
            merge_patch(&mut back, &patch);
            prop_assert_eq!(&back, &m.doc);
        }
        let again = run(n.clone(), n, m.doc.clone(), Strategy::ThreeWayMerge);
        prop_assert_eq!(again.doc, m.doc);
        prop_assert!(again.findings.is_empty());
    }
}
