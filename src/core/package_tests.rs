use super::*;
use crate::core::layers::rank_of;
use crate::core::merge3::Kind;
use serde_json::json;

fn bundle(items: Value) -> Value {
    json!({"package": {"id": "crm", "version": "2.0"}, "items": items})
}

fn invalid_message(r: Parsed<(String, Vec<Incoming>)>) -> String {
    match r {
        Err(BundleError::Invalid(m)) => m,
        other => panic!("expected 22023, got {other:?}"),
    }
}

#[test]
fn a_package_bundle_parses_with_defaults() {
    let (version, items) = parse_bundle(
        "crm",
        &bundle(json!([
            {"type": "object", "name": "account", "metadata": {"label": "A"}, "checksum": "x"},
            {"type": "view", "name": "all", "metadata": {}, "extends": "base", "tags": ["t"],
             "strategy": "replace", "namespace": "sales", "scope": "system"}
        ])),
    )
    .unwrap();
    assert_eq!(version, "2.0");
    assert_eq!(items[0].strategy, LayerStrategy::Merge);
    assert_eq!(items[0].namespace, "default");
    assert_eq!(items[1].extends.as_deref(), Some("base"));
    assert_eq!(items[1].tags, vec!["t".to_owned()]);
    assert_eq!(items[1].strategy, LayerStrategy::Replace);
}

#[test]
fn bad_bundles_name_the_member() {
    let m = invalid_message(parse_bundle("erp", &bundle(json!([]))));
    assert!(m.contains("/package/id"), "{m}");
    let m = invalid_message(parse_bundle(
        "crm",
        &json!({"package": {"id": "crm", "version": ""}, "items": []}),
    ));
    assert!(m.contains("/package/version"), "{m}");
    let m = invalid_message(parse_bundle("crm", &json!({"package": {"id": "crm"}})));
    assert!(m.contains("/package/version"), "{m}");
    let m = invalid_message(parse_bundle(
        "crm",
        &bundle(json!([{"type": "object", "name": "a", "metadata": {}, "scope": "platform"}])),
    ));
    assert!(m.contains("/items/0/scope"), "{m}");
    let m = invalid_message(parse_bundle(
        "crm",
        &bundle(json!([{"type": "object", "name": "a", "metadata": {}, "tenant_id": "acme"}])),
    ));
    assert!(m.contains("tenant_id") && m.contains("/items/0"), "{m}");
    let m = invalid_message(parse_bundle(
        "crm",
        &bundle(json!([{"type": "object", "name": "a", "metadata": []}])),
    ));
    assert!(m.contains("/items/0/metadata"), "{m}");
    let m = invalid_message(parse_bundle(
        "crm",
        &bundle(json!([
            {"type": "object", "name": "a", "metadata": {}},
            {"type": "object", "name": "a", "metadata": {}}
        ])),
    ));
    assert!(m.contains("/items/1") && m.contains("twice"), "{m}");
    assert!(matches!(
        parse_bundle("crm", &bundle(json!([{"type": "object", "name": "9a", "metadata": {}}]))),
        Err(BundleError::Name(m)) if m.contains("/items/0/name")
    ));
}

#[test]
fn resolutions_parse_and_ignore_the_report_members() {
    let rules = parse_rules(Some(&json!([
        {"type": "object", "name": "a", "path": "/label", "tenant_id": null, "scope": "platform",
         "resolution": "custom", "old_base": 1, "kind": "modify/modify"},
        {"type": "object", "name": "a", "path": "/x", "resolution": "value", "value": 7},
        {"type": "object", "name": "a", "path": "/y", "resolution": "value"}
    ])))
    .unwrap();
    assert_eq!(rules[0].tenant, Some(None));
    assert_eq!(rules[0].owner, None);
    assert_eq!(rules[0].scope.as_deref(), Some("platform"));
    assert_eq!(rules[1].resolution, Resolution::Value(Some(json!(7))));
    assert_eq!(rules[2].resolution, Resolution::Value(None));
    assert_eq!(parse_rules(None).unwrap(), Vec::new());
    for (bad, what) in [
        (json!({}), "array"),
        (
            json!([{"type": "object", "name": "a", "resolution": "custom"}]),
            "/resolutions/0/path",
        ),
        (
            json!([{"type": "object", "name": "a", "path": "x", "resolution": "custom"}]),
            "JSON Pointer",
        ),
        (
            json!([{"type": "object", "name": "a", "path": "/x", "resolution": "mine"}]),
            "/resolutions/0/resolution",
        ),
    ] {
        match parse_rules(Some(&bad)) {
            Err(BundleError::Invalid(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

fn item(name: &str, doc: Value) -> Incoming {
    Incoming {
        type_name: "object".to_owned(),
        name: name.to_owned(),
        doc,
        strategy: LayerStrategy::Merge,
        extends: None,
        namespace: "default".to_owned(),
        tags: Vec::new(),
    }
}

fn base(doc: Value, package: Option<&str>) -> Base {
    Base {
        doc,
        checksum: "sha256:x".to_owned(),
        state: State::Active,
        package_id: package.map(str::to_owned),
        strategy: LayerStrategy::Merge,
        extends: None,
        namespace: "default".to_owned(),
        tags: Vec::new(),
    }
}

fn stored(
    name: &str,
    id: &str,
    tenant: Option<&str>,
    owner: Option<&str>,
    doc: Value,
) -> StoredOverlay {
    let scope = if owner.is_some() {
        Scope::User
    } else {
        Scope::Platform
    };
    StoredOverlay {
        type_name: "object".to_owned(),
        name: name.to_owned(),
        overlay: Overlay {
            id: id.to_owned(),
            rank: rank_of(scope, tenant.is_some()),
            tenant: tenant.map(str::to_owned),
            owner: owner.map(str::to_owned),
            strategy: LayerStrategy::Merge,
            doc,
        },
        scope,
        state: State::Active,
    }
}

fn bases(entries: Vec<(&str, Base)>) -> BTreeMap<(String, String), Base> {
    entries
        .into_iter()
        .map(|(n, b)| (("object".to_owned(), n.to_owned()), b))
        .collect()
}

#[test]
fn items_are_created_updated_or_left_and_only_changed_bases_rebase_overlays() {
    let stored_bases = bases(vec![
        ("same", base(json!({"label": "S"}), Some("crm"))),
        ("changed", base(json!({"label": "C"}), Some("crm"))),
        ("adopted", base(json!({"label": "T"}), None)),
    ]);
    let overlays = vec![
        stored("same", "1", Some("acme"), None, json!({"label": "Acme S"})),
        stored("changed", "2", Some("acme"), None, json!({"x": 1})),
        stored("adopted", "3", Some("acme"), None, json!({"x": 1})),
    ];
    let incoming = vec![
        item("same", json!({"label": "S"})),
        item("changed", json!({"label": "C2"})),
        item("adopted", json!({"label": "T"})),
        item("new", json!({"label": "N"})),
    ];
    let plan = plan_upgrade(
        "crm",
        &incoming,
        &stored_bases,
        &overlays,
        Strategy::ThreeWayMerge,
        &[],
    )
    .unwrap();
    assert_eq!(
        plan.statuses,
        vec![
            ItemStatus::Unchanged,
            ItemStatus::Updated,
            ItemStatus::Updated,
            ItemStatus::Created
        ]
    );
    // Only the overlay over the changed document is merged; its patch stays {"x": 1}.
    assert_eq!(
        plan.rebases,
        vec![(1, LayerStrategy::Merge, json!({"x": 1}))]
    );
    assert!(plan.findings.is_empty() && plan.dropped.is_empty() && plan.orphaned.is_empty());
}

#[test]
fn another_packages_item_is_refused() {
    let stored_bases = bases(vec![("a", base(json!({}), Some("erp")))]);
    let err = plan_upgrade(
        "crm",
        &[item("b", json!({})), item("a", json!({}))],
        &stored_bases,
        &[],
        Strategy::KeepCustom,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err,
        ForeignItem {
            index: 1,
            package_id: "erp".to_owned()
        }
    );
}

#[test]
fn dropped_items_and_the_overlays_over_them_are_listed() {
    let stored_bases = bases(vec![
        ("kept", base(json!({}), Some("crm"))),
        ("gone", base(json!({}), Some("crm"))),
        ("foreign", base(json!({}), Some("erp"))),
    ]);
    let overlays = vec![stored("gone", "9", Some("acme"), None, json!({"x": 1}))];
    let plan = plan_upgrade(
        "crm",
        &[item("kept", json!({}))],
        &stored_bases,
        &overlays,
        Strategy::ThreeWayMerge,
        &[],
    )
    .unwrap();
    assert_eq!(plan.dropped, vec![("object".to_owned(), "gone".to_owned())]);
    assert_eq!(plan.orphaned, vec![0]);
}

#[test]
fn findings_are_ordered_and_resolutions_apply_to_the_overlays_they_name() {
    let stored_bases = bases(vec![(
        "a",
        base(json!({"label": "A", "size": 1}), Some("crm")),
    )]);
    let overlays = vec![
        stored("a", "u", Some("globex"), Some("u1"), json!({"size": 3})),
        stored("a", "g", Some("globex"), None, json!({"label": "G"})),
        stored(
            "a",
            "c",
            Some("acme"),
            None,
            json!({"label": "C", "size": 5}),
        ),
    ];
    let incoming = vec![item("a", json!({"label": "A2", "size": 2}))];
    let plan = plan_upgrade(
        "crm",
        &incoming,
        &stored_bases,
        &overlays,
        Strategy::ThreeWayMerge,
        &[],
    )
    .unwrap();
    let order: Vec<(usize, &str, Outcome, Kind)> = plan
        .findings
        .iter()
        .map(|(i, f)| (*i, f.path.as_str(), f.outcome, f.kind))
        .collect();
    assert_eq!(
        order,
        vec![
            (2, "/label", Outcome::Conflict, Kind::ModifyModify),
            (2, "/size", Outcome::Conflict, Kind::ModifyModify),
            (1, "/label", Outcome::Conflict, Kind::ModifyModify),
            (0, "/size", Outcome::Conflict, Kind::ModifyModify),
        ]
    );
    assert_eq!(plan.conflicts(), 4);
    // acme keeps its label, takes the package's size; a rule for every tenant's /size and
    // /label (no tenant named) resolves globex's and u1's.
    let rules = parse_rules(Some(&json!([
        {"type": "object", "name": "a", "path": "/label", "tenant_id": "acme", "resolution": "custom"},
        {"type": "object", "name": "a", "path": "/size", "tenant_id": "acme", "resolution": "incoming"},
        {"type": "object", "name": "a", "path": "/label", "resolution": "incoming"},
        {"type": "object", "name": "a", "path": "/size", "owner": "u1", "resolution": "value", "value": 9}
    ])))
    .unwrap();
    let plan = plan_upgrade(
        "crm",
        &incoming,
        &stored_bases,
        &overlays,
        Strategy::ThreeWayMerge,
        &rules,
    )
    .unwrap();
    assert_eq!(plan.conflicts(), 0);
    let doc_of = |i: usize| {
        plan.rebases
            .iter()
            .find(|(j, _, _)| *j == i)
            .map(|(_, _, d)| d.clone())
    };
    assert_eq!(doc_of(2), Some(json!({"label": "C"})));
    assert_eq!(doc_of(1), Some(json!({})));
    assert_eq!(doc_of(0), Some(json!({"size": 9})));
}
