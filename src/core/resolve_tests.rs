use super::*;
use crate::core::canonical::checksum;
use crate::core::layers::{rank_of, Scope, State};
use serde_json::json;

/// An in-memory layer source: item name -> layers.
#[derive(Default)]
struct Items(HashMap<String, Vec<Layer>>);

impl LayerSource for Items {
    type Doc = Value;
    type Error = String;
    fn layers(&mut self, name: &str) -> std::result::Result<Vec<Layer>, String> {
        Ok(self.0.get(name).cloned().unwrap_or_default())
    }
}

fn layer(scope: Scope, tenant: bool, strategy: Strategy, doc: Value) -> Layer {
    Layer {
        meta: LayerMeta {
            rank: rank_of(scope, tenant),
            scope,
            tenant_id: tenant.then(|| "acme".to_owned()),
            owner: (scope == Scope::User).then(|| "u1".to_owned()),
            strategy,
            extends: None,
            state: State::Active,
            version: 1,
            checksum: checksum(&doc),
            base_checksum: None,
        },
        doc,
    }
}

fn sys(doc: Value) -> Layer {
    layer(Scope::System, false, Strategy::Merge, doc)
}
fn plat(doc: Value) -> Layer {
    layer(Scope::Platform, true, Strategy::Merge, doc)
}
fn user(doc: Value) -> Layer {
    layer(Scope::User, true, Strategy::Merge, doc)
}
fn extending(mut l: Layer, parent: &str) -> Layer {
    l.meta.extends = Some(parent.to_owned());
    l
}

fn resolver(items: Vec<(&str, Vec<Layer>)>) -> Resolver<Items> {
    Resolver::new(Items(
        items.into_iter().map(|(n, l)| (n.to_owned(), l)).collect(),
    ))
}

fn read(_item: &str, doc: &Value) -> std::result::Result<Value, String> {
    Ok(doc.clone())
}

type Result<T> = std::result::Result<T, ResolveError<String>>;

/// The operations the extension builds from plan + fold.
impl Resolver<Items> {
    fn effective(&mut self, name: &str) -> Result<Option<Value>> {
        let plan = self.plan(name)?;
        fold(&plan, read).map_err(ResolveError::Source)
    }

    fn below(&mut self, name: &str, rank: Rank, extends: Option<&str>) -> Result<Option<Value>> {
        let plan = self.plan_below(name, rank, extends)?;
        fold(&plan, read).map_err(ResolveError::Source)
    }

    fn applied(&mut self, name: &str) -> Result<Vec<Applied>> {
        self.explain(name, read)
    }
}

#[test]
fn rfc7396_appendix_a_examples() {
    // RFC 7396 Appendix A: (target, patch, result), verbatim.
    let cases = [
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (
            json!({"a":"b","b":"c"}),
            json!({"a":null}),
            json!({"b":"c"}),
        ),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (
            json!({"a":{"b":"c"}}),
            json!({"a":{"b":"d","c":null}}),
            json!({"a":{"b":"d"}}),
        ),
        (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (
            json!({}),
            json!({"a":{"bb":{"ccc":null}}}),
            json!({"a":{"bb":{}}}),
        ),
    ];
    for (mut target, patch, expected) in cases {
        merge_patch(&mut target, &patch);
        assert_eq!(target, expected, "patch {patch}");
    }
}

#[test]
fn layers_merge_bottom_up() {
    let mut r = resolver(vec![(
        "account",
        vec![
            sys(
                json!({"label": "Account", "fields": {"name": {"type": "text"}, "fax": {"type": "phone"}}}),
            ),
            plat(json!({"label": "Customer", "fields": {"fax": null, "tier": {"type": "select"}}})),
            user(json!({"fields": {"name": {"width": 200}}, "listView": ["name"]})),
        ],
    )]);
    assert_eq!(
        r.effective("account").unwrap(),
        Some(json!({
            "label": "Customer",
            "fields": {"name": {"type": "text", "width": 200}, "tier": {"type": "select"}},
            "listView": ["name"]
        }))
    );
}

#[test]
fn missing_item_is_none_and_a_lone_layer_is_taken_as_stored() {
    let doc = json!({"a": 1, "b": null, "c": {"d": null}});
    let mut r = resolver(vec![
        ("runtime", vec![plat(doc.clone())]),
        (
            "based",
            vec![
                sys(json!({"b": 2, "c": {"d": 3, "e": 4}})),
                plat(doc.clone()),
            ],
        ),
    ]);
    assert_eq!(r.effective("nothing").unwrap(), None);
    // Nothing below: the document as stored, nulls kept.
    assert_eq!(r.effective("runtime").unwrap(), Some(doc));
    // Something below: the same document is a merge patch, nulls delete.
    assert_eq!(
        r.effective("based").unwrap(),
        Some(json!({"a": 1, "c": {"e": 4}}))
    );
}

#[test]
fn replace_discards_lower_layers_and_parent() {
    let mut r = resolver(vec![
        ("base", vec![sys(json!({"p": 1}))]),
        (
            "v",
            vec![
                extending(sys(json!({"a": 1, "b": 2})), "base"),
                layer(
                    Scope::Platform,
                    true,
                    Strategy::Replace,
                    json!({"b": 3, "n": null}),
                ),
                user(json!({"c": 4})),
            ],
        ),
    ]);
    // A replace layer is stored as is: its nulls are data, not deletions.
    assert_eq!(
        r.effective("v").unwrap(),
        Some(json!({"b": 3, "n": null, "c": 4}))
    );
    let applied = r.applied("v").unwrap();
    assert_eq!(
        applied.iter().map(|a| a.meta.rank).collect::<Vec<_>>(),
        vec![2, 3]
    );
}

#[test]
fn extends_starts_from_parent_effective() {
    let mut r = resolver(vec![
        (
            "base",
            vec![
                sys(json!({"columns": ["a"], "sort": "a"})),
                plat(json!({"sort": "b"})),
            ],
        ),
        (
            "child",
            vec![extending(sys(json!({"columns": ["a", "c"]})), "base")],
        ),
    ]);
    assert_eq!(
        r.effective("child").unwrap(),
        Some(json!({"columns": ["a", "c"], "sort": "b"}))
    );
    let items: Vec<_> = r
        .applied("child")
        .unwrap()
        .into_iter()
        .map(|a| a.item)
        .collect();
    assert_eq!(items, vec!["base", "base", "child"]);
}

#[test]
fn topmost_extends_wins() {
    let mut r = resolver(vec![
        ("p1", vec![sys(json!({"from": "p1"}))]),
        ("p2", vec![sys(json!({"from": "p2"}))]),
        (
            "c",
            vec![
                extending(sys(json!({})), "p1"),
                extending(plat(json!({"x": 1})), "p2"),
            ],
        ),
    ]);
    assert_eq!(
        r.effective("c").unwrap(),
        Some(json!({"from": "p2", "x": 1}))
    );
}

#[test]
fn cycles_missing_parents_and_long_chains_are_errors() {
    let mut r = resolver(vec![
        ("a", vec![extending(sys(json!({})), "b")]),
        ("b", vec![extending(sys(json!({})), "a")]),
        ("orphan", vec![extending(sys(json!({})), "gone")]),
    ]);
    assert_eq!(
        r.effective("a").unwrap_err(),
        ResolveError::Cycle {
            chain: vec!["a".into(), "b".into(), "a".into()]
        }
    );
    assert!(matches!(
        r.applied("b").unwrap_err(),
        ResolveError::Cycle { .. }
    ));
    assert_eq!(
        r.effective("orphan").unwrap_err(),
        ResolveError::MissingParent {
            item: "orphan".into(),
            parent: "gone".into()
        }
    );
    let names: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
    let mut chain = vec![];
    for i in 0..99 {
        chain.push((
            names[i].as_str(),
            vec![extending(sys(json!({})), &names[i + 1])],
        ));
    }
    chain.push((names[99].as_str(), vec![sys(json!({}))]));
    let mut r = resolver(chain);
    assert!(matches!(
        r.effective("n0").unwrap_err(),
        ResolveError::ChainTooLong { .. }
    ));
    assert!(r.effective("n70").is_ok());
}

#[test]
fn below_and_staleness() {
    let system = sys(json!({"label": "A", "size": 1}));
    let below_platform = json!({"label": "A", "size": 1});
    let mut overlay = plat(json!({"label": "B"}));
    overlay.meta.base_checksum = Some(checksum(&below_platform));
    let mut r = resolver(vec![("x", vec![system.clone(), overlay.clone()])]);
    assert_eq!(r.below("x", 2, None).unwrap(), Some(below_platform));
    assert_eq!(r.below("x", 0, None).unwrap(), None);
    let stale: Vec<bool> = r.applied("x").unwrap().iter().map(|a| a.stale).collect();
    assert_eq!(stale, vec![false, false]);

    // The package ships a new base: the overlay is now stale but still applies.
    let mut r = resolver(vec![(
        "x",
        vec![sys(json!({"label": "A", "size": 2})), overlay],
    )]);
    let stale: Vec<bool> = r.applied("x").unwrap().iter().map(|a| a.stale).collect();
    assert_eq!(stale, vec![false, true]);
    assert_eq!(
        r.effective("x").unwrap(),
        Some(json!({"label": "B", "size": 2}))
    );
}

#[test]
fn below_sees_parent_only_up_to_the_layer_rank() {
    let mut r = resolver(vec![
        (
            "base",
            vec![sys(json!({"a": 1})), user(json!({"mine": true}))],
        ),
        (
            "c",
            vec![
                extending(sys(json!({"b": 2})), "base"),
                plat(json!({"c": 3})),
            ],
        ),
    ]);
    // What the platform layer of "c" produces, before any user layer.
    let through = r.plan_through("c", 2, None).unwrap();
    assert_eq!(
        fold(&through, read).unwrap(),
        Some(json!({"a": 1, "b": 2, "c": 3}))
    );
    // The platform author of "c" never saw the user's overlay of "base".
    assert_eq!(
        r.below("c", 2, None).unwrap(),
        Some(json!({"a": 1, "b": 2}))
    );
    // A system layer that is about to set extends builds on that parent.
    assert_eq!(
        r.below("new", 0, Some("base")).unwrap(),
        Some(json!({"a": 1}))
    );
    assert_eq!(
        r.effective("c").unwrap(),
        Some(json!({"a": 1, "b": 2, "c": 3, "mine": true}))
    );
}

#[test]
fn deep_documents_merge_without_trouble() {
    let mut deep = json!(1);
    for _ in 0..99 {
        deep = json!({ "k": deep });
    }
    let mut patch = json!(null);
    for _ in 0..99 {
        patch = json!({ "k": patch });
    }
    let mut r = resolver(vec![("d", vec![sys(deep), plat(patch)])]);
    let doc = r.effective("d").unwrap().unwrap();
    // The patch's innermost null deleted the innermost "k": 98 levels of "k" around {}.
    let expected = format!("{}{{}}{}", "{\"k\":".repeat(98), "}".repeat(98));
    assert_eq!(crate::core::canonical::canonical_json(&doc), expected);
}

#[test]
fn a_substituted_layer_stands_in_for_its_rank_and_is_resolved_with_the_rest() {
    let items = Items(
        [(
            "a".to_owned(),
            vec![sys(json!({"x": 1, "y": 1})), plat(json!({"y": 2}))],
        )]
        .into_iter()
        .collect(),
    );
    // Replacing the stored platform layer.
    let mut r = Resolver::new(WithLayer::new(items, "a", plat(json!({"y": 3, "z": 3}))));
    let plan = r.plan("a").unwrap();
    assert_eq!(
        fold(&plan, read).unwrap(),
        Some(json!({"x": 1, "y": 3, "z": 3}))
    );
    // Adding a layer at a rank with nothing stored, between the others.
    let items = Items(
        [(
            "a".to_owned(),
            vec![sys(json!({"x": 1})), user(json!({"u": 1}))],
        )]
        .into_iter()
        .collect(),
    );
    let mut r = Resolver::new(WithLayer::new(items, "a", plat(json!({"x": 2}))));
    let plan = r.plan("a").unwrap();
    let ranks: Vec<Rank> = plan.iter().map(|p| p.layer.meta.rank).collect();
    assert_eq!(ranks, vec![0, 2, 3]);
    assert_eq!(fold(&plan, read).unwrap(), Some(json!({"x": 2, "u": 1})));
    // Other items are untouched; a substituted layer that extends a missing parent is caught.
    let items = Items(
        [("b".to_owned(), vec![sys(json!({"b": 1}))])]
            .into_iter()
            .collect(),
    );
    let mut r = Resolver::new(WithLayer::new(
        items,
        "a",
        extending(sys(json!({})), "nope"),
    ));
    assert_eq!(r.plan("b").unwrap().len(), 1);
    assert!(matches!(
        r.plan("a"),
        Err(ResolveError::MissingParent { .. })
    ));
}
