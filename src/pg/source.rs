//! The database as a [`LayerSource`]: reads the layers of items that apply to one audience
//! (tenant, user, preview) from `metadata.sys_metadata` through SPI, with plans prepared
//! once per backend.

use crate::core::layers::{rank_of, Layer, LayerMeta, Scope, State, Strategy};
use crate::core::resolve::LayerSource;
use crate::pg::jsonb::JsonbBytes;
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};
use pgrx::PgOid;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// A stored row the resolver cannot use (only possible if the table was written with its
/// triggers disabled).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceError {
    pub item: String,
    pub problem: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stored layer of \"{}\" is unusable: {}",
            self.item, self.problem
        )
    }
}

/// Whose effective view is resolved.
#[derive(Debug, Clone)]
pub struct Audience {
    pub tenant: Option<String>,
    pub user: Option<String>,
    /// Use a layer's draft row instead of its active row where there is one.
    pub preview: bool,
}

const COLUMNS: &str = "name, scope, tenant_id, owner, strategy, extends, state, version, \
                       checksum, base_checksum, metadata";

/// Builds the query for the rows of one audience: the global system and platform rows, the
/// global space's user rows of the user (only when no tenant is set), and the tenant's
/// platform and user rows. `$1` type, `$2` tenant, `$3` user, `$4` name when `one_item`.
/// Each branch matches a whole index key (tenant, type, name, scope, owner), so other
/// tenants' and other users' rows are never read. Only constant text is assembled here, and
/// every operator and type is schema-qualified: the query is planned under the caller's
/// search_path, which must not be able to substitute its own `=` (SQL injection by operator).
fn layer_query(one_item: bool, preview: bool) -> String {
    let states = if preview {
        "'active', 'deprecated', 'draft'"
    } else {
        "'active', 'deprecated'"
    };
    let eq = "OPERATOR(pg_catalog.=)";
    let item = if one_item {
        format!(" AND name {eq} $4")
    } else {
        String::new()
    };
    let from = format!(
        "SELECT {COLUMNS} FROM metadata.sys_metadata \
         WHERE state {eq} ANY (ARRAY[{states}]::pg_catalog.text[]) AND type {eq} $1{item}"
    );
    format!(
        "{from} AND tenant_id IS NULL AND scope {eq} ANY (ARRAY['system', 'platform']::pg_catalog.text[]) \
         UNION ALL {from} AND $2::pg_catalog.text IS NULL AND tenant_id IS NULL AND scope {eq} 'user' AND owner {eq} $3 \
         UNION ALL {from} AND tenant_id {eq} $2 AND scope {eq} 'platform' \
         UNION ALL {from} AND tenant_id {eq} $2 AND scope {eq} 'user' AND owner {eq} $3"
    )
}

thread_local! {
    /// Prepared plans by (one_item, preview), kept for the backend's life.
    static PLANS: RefCell<HashMap<(bool, bool), Rc<OwnedPreparedStatement>>> =
        RefCell::new(HashMap::new());
}

/// Raw rows of one audience, grouped into layers per item name (the flag: a draft row).
type Rows = HashMap<String, Vec<(bool, Layer<JsonbBytes>)>>;

fn fetch(
    client: &SpiClient<'_>,
    type_name: &str,
    audience: &Audience,
    name: Option<&str>,
) -> Result<Rows, SourceError> {
    let key = (name.is_some(), audience.preview);
    let text = PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTOID);
    // Not borrowed while the query runs (running it may run other code of the library).
    let plan = PLANS.with(|plans| plans.borrow().get(&key).cloned());
    let plan = match plan {
        Some(plan) => plan,
        None => {
            let argc = if name.is_some() { 4 } else { 3 };
            let plan = Rc::new(
                client
                    .prepare(layer_query(key.0, key.1).as_str(), &vec![text; argc])
                    .expect("preparing the layer query")
                    .keep(),
            );
            PLANS.with(|plans| plans.borrow_mut().insert(key, Rc::clone(&plan)));
            plan
        }
    };
    let mut args: Vec<pgrx::datum::DatumWithOid> = vec![
        type_name.into(),
        audience.tenant.as_deref().into(),
        audience.user.as_deref().into(),
    ];
    if let Some(name) = name {
        args.push(name.into());
    }
    let mut table = client
        .select(&*plan, None, &args)
        .expect("running the layer query");
    let mut rows: Rows = HashMap::new();
    while table.next().is_some() {
        let (item, is_draft, layer) = to_layer(&table)?;
        rows.entry(item).or_default().push((is_draft, layer));
    }
    Ok(rows)
}

fn to_layer(
    row: &pgrx::spi::SpiTupleTable<'_>,
) -> Result<(String, bool, Layer<JsonbBytes>), SourceError> {
    let text = |i: usize| -> Option<String> { row.get::<String>(i).ok().flatten() };
    let item = text(1).unwrap_or_default();
    let bad = |problem: String| SourceError {
        item: item.clone(),
        problem,
    };
    let scope_text = text(2).unwrap_or_default();
    let scope = Scope::parse(&scope_text).ok_or_else(|| bad(format!("scope {scope_text:?}")))?;
    let strategy_text = text(5).unwrap_or_default();
    let strategy = Strategy::parse(&strategy_text)
        .ok_or_else(|| bad(format!("strategy {strategy_text:?}")))?;
    let tenant_id = text(3);
    let state_text = text(7).unwrap_or_default();
    let state = State::parse(&state_text).ok_or_else(|| bad(format!("state {state_text:?}")))?;
    let datum = row
        .get_datum_by_ordinal(11)
        .ok()
        .flatten()
        .ok_or_else(|| bad("no document".to_owned()))?;
    // SAFETY: column 11 is the jsonb column `metadata`, not null.
    let doc = unsafe { JsonbBytes::copy_from(datum) };
    let meta = LayerMeta {
        rank: rank_of(scope, tenant_id.is_some()),
        scope,
        tenant_id,
        owner: text(4),
        strategy,
        extends: text(6),
        version: row.get::<i32>(8).ok().flatten().unwrap_or(0),
        checksum: text(9).unwrap_or_default(),
        base_checksum: text(10),
        state,
    };
    Ok((item, state == State::Draft, Layer { meta, doc }))
}

/// Keeps one layer per rank (the draft where there is one, for a preview), sorted by rank.
fn pick(mut rows: Vec<(bool, Layer<JsonbBytes>)>) -> Vec<Layer<JsonbBytes>> {
    rows.sort_by_key(|(is_draft, layer)| (layer.meta.rank, !*is_draft));
    let mut layers: Vec<Layer<JsonbBytes>> = Vec::with_capacity(rows.len());
    for (_, layer) in rows {
        if layers.last().map(|l| l.meta.rank) != Some(layer.meta.rank) {
            layers.push(layer);
        }
    }
    layers
}

/// Reads a held document for the resolver, naming the item when it cannot be read.
pub fn read_document(item: &str, doc: &JsonbBytes) -> Result<Value, SourceError> {
    doc.to_document().map_err(|e| SourceError {
        item: item.to_owned(),
        problem: e.to_string(),
    })
}

/// Parsed documents of one call, by the identity of their bytes: a write folds what is
/// below its layer, what it produces and the effective document, and each stored document
/// is parsed once for all three (the written one not at all: it was parsed to be hashed).
/// Each entry keeps its bytes alive, so an identity is never reused while it is cached.
#[derive(Default)]
pub struct Documents(HashMap<*const u8, (JsonbBytes, Value)>);

impl Documents {
    /// Records that `doc` parses to `value`.
    pub fn seed(&mut self, doc: &JsonbBytes, value: Value) {
        self.0.insert(doc.identity(), (doc.clone(), value));
    }

    /// The document `doc` of `item`, parsed (the first time) or from memory.
    pub fn read(&mut self, item: &str, doc: &JsonbBytes) -> Result<Value, SourceError> {
        if let Some((_, value)) = self.0.get(&doc.identity()) {
            return Ok(value.clone());
        }
        let value = read_document(item, doc)?;
        self.0.insert(doc.identity(), (doc.clone(), value.clone()));
        Ok(value)
    }
}

/// Layers of items of one type for one audience, documents held as jsonb bytes.
pub struct SpiSource {
    type_name: String,
    audience: Audience,
    /// All rows of the type, when fetched at once (`effective_all`).
    prefetched: Option<Rows>,
}

impl SpiSource {
    pub fn new(type_name: &str, audience: Audience) -> Self {
        SpiSource {
            type_name: type_name.to_owned(),
            audience,
            prefetched: None,
        }
    }

    /// Reads every row of the type for the audience in one query; returns the item names
    /// in name order.
    pub fn prefetch_all(&mut self) -> Result<Vec<String>, SourceError> {
        let rows = Spi::connect(|client| fetch(client, &self.type_name, &self.audience, None))?;
        let mut names: Vec<String> = rows.keys().cloned().collect();
        names.sort();
        self.prefetched = Some(rows);
        Ok(names)
    }
}

impl LayerSource for SpiSource {
    type Doc = JsonbBytes;
    type Error = SourceError;

    fn layers(&mut self, name: &str) -> Result<Vec<Layer<JsonbBytes>>, SourceError> {
        let rows = match &mut self.prefetched {
            Some(all) => all.remove(name).unwrap_or_default(),
            None => {
                Spi::connect(|client| fetch(client, &self.type_name, &self.audience, Some(name)))?
                    .remove(name)
                    .unwrap_or_default()
            }
        };
        Ok(pick(rows))
    }
}
