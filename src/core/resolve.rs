//! Effective resolution (DESIGN §3): the document an audience sees, built bottom-up from
//! the layers of an item, starting from its `extends` parent when it has one.
//!
//! Resolution has two steps. [`Resolver::plan`] walks the item and its ancestors and lists
//! the layers that apply, bottom first; [`fold`] then combines their documents:
//! * The first layer of the plan is taken as stored, whatever its strategy: the effective
//!   document of a lone base layer is that document, `null` members included. (RFC 7396
//!   would patch `{}` and drop them.)
//! * Each further layer is a JSON Merge Patch (RFC 7396, applied with the `json-patch`
//!   crate) over the result so far.
//! * A `replace` layer discards everything below it, the parent included, so a plan starts
//!   at the last `replace` layer.
//! * The parent is named by the `extends` of the topmost layer that sets one. It is
//!   resolved for the same audience; a missing parent, a cycle or a chain deeper than
//!   [`MAX_EXTENDS_DEPTH`] is an error.
//! * Staleness: the author of a layer at rank *r* saw "below" = the parent's layers up to
//!   rank *r* plus the item's layers under *r*. A layer is stale when the checksum of that
//!   document no longer equals the `base_checksum` it was written with.
//!
//! The result of a fold depends only on the documents of the plan, in order; a plan's
//! list of checksums therefore identifies its effective document (the extension caches
//! by it).

use crate::core::canonical::checksum;
use crate::core::layers::{Layer, LayerMeta, Rank, Strategy, LAYER_COUNT};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// Longest `extends` chain followed, the item itself included.
pub const MAX_EXTENDS_DEPTH: usize = 32;

/// Where the resolver gets layers from: the database in the extension, a map in tests.
pub trait LayerSource {
    /// How documents are held (see [`Layer`]).
    type Doc: Clone;
    type Error;
    /// The layers of item `name` that apply to the caller, sorted by rank, at most one
    /// per rank (the source has chosen between a draft and an active row already).
    fn layers(&mut self, name: &str) -> Result<Vec<Layer<Self::Doc>>, Self::Error>;
}

/// Why an effective document cannot be built.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError<E> {
    /// The layer source failed, or a document could not be read.
    Source(E),
    /// `extends` leads back to an item already on the chain (listed in order, repeat last).
    Cycle { chain: Vec<String> },
    /// `item` extends `parent`, which has no layer visible to the caller.
    MissingParent { item: String, parent: String },
    /// The chain is longer than [`MAX_EXTENDS_DEPTH`].
    ChainTooLong { chain: Vec<String> },
}

impl<E: fmt::Display> fmt::Display for ResolveError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Source(e) => write!(f, "{e}"),
            ResolveError::Cycle { chain } => {
                write!(f, "extends cycle: {}", chain.join(" -> "))
            }
            ResolveError::MissingParent { item, parent } => {
                write!(f, "\"{item}\" extends \"{parent}\", which does not exist")
            }
            ResolveError::ChainTooLong { chain } => write!(
                f,
                "extends chain is longer than {MAX_EXTENDS_DEPTH} items: {} -> ...",
                chain[..3.min(chain.len())].join(" -> ")
            ),
        }
    }
}

/// One layer of a plan: the item it belongs to (the resolved item or an ancestor) and the
/// layer itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<D> {
    pub item: String,
    pub layer: Layer<D>,
}

/// One layer that `explain` reports, in the order it is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The item the layer belongs to: the explained item or one of its ancestors.
    pub item: String,
    pub meta: LayerMeta,
    /// The layer's `base_checksum` differs from the checksum of what is below it now.
    pub stale: bool,
}

/// Applies `patch` to `target` as a JSON Merge Patch (RFC 7396 §2).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Combines the documents of a plan (bottom first): the first as stored, each further one
/// as an RFC 7396 merge patch. `read(item, doc)` turns a held document into a [`Value`].
/// `None` for an empty plan.
pub fn fold<D, E>(
    plan: &[Planned<D>],
    mut read: impl FnMut(&str, &D) -> Result<Value, E>,
) -> Result<Option<Value>, E> {
    let mut doc: Option<Value> = None;
    for step in plan {
        let layer_doc = read(&step.item, &step.layer.doc)?;
        match doc.as_mut() {
            Some(base) => merge_patch(base, &layer_doc),
            None => doc = Some(layer_doc),
        }
    }
    Ok(doc)
}

/// A [`LayerSource`] that answers as `inner`, except that item `name` has `layer` at its
/// rank (replacing what is stored there, or added): the layer a write is about to store,
/// so that the write resolves, checks and hashes once, before it writes.
pub struct WithLayer<S: LayerSource> {
    inner: S,
    name: String,
    layer: Layer<S::Doc>,
}

impl<S: LayerSource> WithLayer<S> {
    /// `inner` with `layer` standing in for item `name`'s layer of the same rank.
    pub fn new(inner: S, name: &str, layer: Layer<S::Doc>) -> Self {
        WithLayer {
            inner,
            name: name.to_owned(),
            layer,
        }
    }
}

impl<S: LayerSource> LayerSource for WithLayer<S> {
    type Doc = S::Doc;
    type Error = S::Error;

    fn layers(&mut self, name: &str) -> Result<Vec<Layer<S::Doc>>, S::Error> {
        let mut layers = self.inner.layers(name)?;
        if name == self.name {
            let rank = self.layer.meta.rank;
            layers.retain(|l| l.meta.rank != rank);
            let at = layers.partition_point(|l| l.meta.rank < rank);
            layers.insert(at, self.layer.clone());
        }
        Ok(layers)
    }
}

/// Builds plans from a [`LayerSource`], caching each item's layers for the resolver's
/// lifetime (one SQL call).
pub struct Resolver<S: LayerSource> {
    source: S,
    cache: HashMap<String, Rc<Vec<Layer<S::Doc>>>>,
}

type Resolved<T, E> = std::result::Result<T, ResolveError<E>>;

/// The layers of one item, shared between the plans that use them.
type Shared<S> = Rc<Vec<Layer<<S as LayerSource>::Doc>>>;

impl<S: LayerSource> Resolver<S> {
    pub fn new(source: S) -> Self {
        Resolver {
            source,
            cache: HashMap::new(),
        }
    }

    /// The layers applied to build the effective document of `name`, bottom first
    /// (ancestors' layers before the item's); empty when the item has no layer.
    pub fn plan(&mut self, name: &str) -> Resolved<Vec<Planned<S::Doc>>, S::Error> {
        let mut chain = vec![name.to_owned()];
        self.plan_limited(name, LAYER_COUNT, LAYER_COUNT - 1, None, true, &mut chain)
    }

    /// The plan of what the author of a layer of `name` at `rank` builds on: the parent
    /// (`extends`, or else the one inherited from lower layers) up to `rank`, then the
    /// item's layers under `rank`. A missing parent counts as nothing here.
    pub fn plan_below(
        &mut self,
        name: &str,
        rank: Rank,
        extends: Option<&str>,
    ) -> Resolved<Vec<Planned<S::Doc>>, S::Error> {
        let mut chain = vec![name.to_owned()];
        self.plan_limited(name, rank, rank, extends, false, &mut chain)
    }

    /// The plan of the document a layer of `name` at `rank` produces: [`Self::plan_below`]
    /// and that layer itself (what its audience would see without the layers above).
    pub fn plan_through(
        &mut self,
        name: &str,
        rank: Rank,
        extends: Option<&str>,
    ) -> Resolved<Vec<Planned<S::Doc>>, S::Error> {
        let mut chain = vec![name.to_owned()];
        self.plan_limited(name, rank + 1, rank, extends, false, &mut chain)
    }

    /// The layers of the plan of `name` with their staleness; `read(item, doc)` turns a
    /// held document into a [`Value`] (for the checksums of what is below each layer).
    pub fn explain(
        &mut self,
        name: &str,
        mut read: impl FnMut(&str, &S::Doc) -> Result<Value, S::Error>,
    ) -> Resolved<Vec<Applied>, S::Error> {
        let plan = self.plan(name)?;
        let mut applied = Vec::with_capacity(plan.len());
        for step in plan {
            let meta = step.layer.meta;
            let below = self.plan_below(&step.item, meta.rank, meta.extends.as_deref())?;
            let below = fold(&below, &mut read).map_err(ResolveError::Source)?;
            let stale = below.as_ref().map(checksum) != meta.base_checksum;
            applied.push(Applied {
                item: step.item,
                meta,
                stale,
            });
        }
        Ok(applied)
    }

    fn layers(&mut self, name: &str) -> Resolved<Shared<S>, S::Error> {
        if let Some(found) = self.cache.get(name) {
            return Ok(Rc::clone(found));
        }
        let layers = Rc::new(self.source.layers(name).map_err(ResolveError::Source)?);
        self.cache.insert(name.to_owned(), Rc::clone(&layers));
        Ok(layers)
    }

    /// Item layers with rank < `item_lt` over the parent's plan up to `parent_le`.
    fn plan_limited(
        &mut self,
        name: &str,
        item_lt: Rank,
        parent_le: Rank,
        extends: Option<&str>,
        strict: bool,
        chain: &mut Vec<String>,
    ) -> Resolved<Vec<Planned<S::Doc>>, S::Error> {
        let layers = self.layers(name)?;
        let applicable: Vec<&Layer<S::Doc>> =
            layers.iter().filter(|l| l.meta.rank < item_lt).collect();
        let parent = extends
            .map(str::to_owned)
            .or_else(|| applicable.iter().rev().find_map(|l| l.meta.extends.clone()));
        let mut plan = match parent {
            Some(parent) => {
                enter(chain, &parent)?;
                let plan =
                    self.plan_limited(&parent, parent_le + 1, parent_le, None, strict, chain)?;
                chain.pop();
                if plan.is_empty() && strict {
                    return Err(ResolveError::MissingParent {
                        item: name.to_owned(),
                        parent,
                    });
                }
                plan
            }
            None => Vec::new(),
        };
        for layer in applicable {
            if layer.meta.strategy == Strategy::Replace {
                plan.clear();
            }
            plan.push(Planned {
                item: name.to_owned(),
                layer: layer.clone(),
            });
        }
        Ok(plan)
    }
}

/// Pushes `parent` on the chain, refusing cycles and over-long chains.
fn enter<E>(chain: &mut Vec<String>, parent: &str) -> Resolved<(), E> {
    if chain.iter().any(|n| n == parent) {
        let mut cycle = chain.clone();
        cycle.push(parent.to_owned());
        return Err(ResolveError::Cycle { chain: cycle });
    }
    if chain.len() >= MAX_EXTENDS_DEPTH {
        return Err(ResolveError::ChainTooLong {
            chain: chain.clone(),
        });
    }
    chain.push(parent.to_owned());
    Ok(())
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
