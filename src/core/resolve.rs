//! Effective resolution (DESIGN §3): the document an audience sees, built bottom-up from
//! the layers of an item, starting from its `extends` parent when it has one.
//!
//! * A `merge` layer is a JSON Merge Patch (RFC 7396, applied with the `json-patch` crate).
//! * The lowest layer applied, when nothing is below it (no parent, no lower layer), is taken
//!   as stored, whatever its strategy: the effective document of a lone base layer is that
//!   document, `null` members included. (RFC 7396 would patch `{}` and drop them.)
//! * A `replace` layer discards everything below it, the parent included.
//! * The parent is named by the `extends` of the topmost layer that sets one. It is
//!   resolved for the same audience; a missing parent, a cycle or a chain deeper than
//!   [`MAX_EXTENDS_DEPTH`] is an error.
//! * Staleness: the author of a layer at rank *r* saw "below" = the parent's layers up to
//!   rank *r* plus the item's layers under *r*. A layer is stale when the checksum of that
//!   document no longer equals the `base_checksum` it was written with.

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
    type Error;
    /// The layers of item `name` that apply to the caller, sorted by rank, at most one
    /// per rank (the source has chosen between a draft and an active row already).
    fn layers(&mut self, name: &str) -> std::result::Result<Vec<Layer>, Self::Error>;
}

/// Why an effective document cannot be built.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError<E> {
    /// The layer source failed.
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

/// Builds effective documents from a [`LayerSource`], caching each item's layers for the
/// resolver's lifetime (one SQL call).
pub struct Resolver<S: LayerSource> {
    source: S,
    cache: HashMap<String, Rc<Vec<Layer>>>,
}

type Resolved<T, E> = std::result::Result<T, ResolveError<E>>;

impl<S: LayerSource> Resolver<S> {
    pub fn new(source: S) -> Self {
        Resolver {
            source,
            cache: HashMap::new(),
        }
    }

    /// The effective document of `name`, or `None` when it has no layer.
    pub fn effective(&mut self, name: &str) -> Resolved<Option<Value>, S::Error> {
        let mut chain = vec![name.to_owned()];
        self.compose(name, LAYER_COUNT, LAYER_COUNT - 1, None, true, &mut chain)
    }

    /// The document the author of a layer of `name` at `rank` builds on: the parent
    /// (`extends`, or else the one inherited from lower layers) up to `rank`, then the
    /// item's layers under `rank`. `None` when nothing is below.
    pub fn below(
        &mut self,
        name: &str,
        rank: Rank,
        extends: Option<&str>,
    ) -> Resolved<Option<Value>, S::Error> {
        let mut chain = vec![name.to_owned()];
        self.compose(name, rank, rank, extends, false, &mut chain)
    }

    /// The layers applied to build the effective document of `name`, bottom first,
    /// ancestors' layers before the item's, each with its staleness.
    pub fn explain(&mut self, name: &str) -> Resolved<Vec<Applied>, S::Error> {
        let mut chain = vec![name.to_owned()];
        self.explain_item(name, &mut chain)
    }

    fn layers(&mut self, name: &str) -> Resolved<Rc<Vec<Layer>>, S::Error> {
        if let Some(found) = self.cache.get(name) {
            return Ok(Rc::clone(found));
        }
        let layers = Rc::new(self.source.layers(name).map_err(ResolveError::Source)?);
        self.cache.insert(name.to_owned(), Rc::clone(&layers));
        Ok(layers)
    }

    /// Item layers with rank < `item_lt` over the parent resolved up to `parent_le`.
    fn compose(
        &mut self,
        name: &str,
        item_lt: Rank,
        parent_le: Rank,
        extends: Option<&str>,
        strict: bool,
        chain: &mut Vec<String>,
    ) -> Resolved<Option<Value>, S::Error> {
        let layers = self.layers(name)?;
        let applicable: Vec<&Layer> = layers.iter().filter(|l| l.meta.rank < item_lt).collect();
        let parent = extends
            .map(str::to_owned)
            .or_else(|| topmost_extends(applicable.iter().copied()));
        let start = match parent {
            Some(parent) => {
                enter(chain, &parent)?;
                let doc = self.compose(&parent, parent_le + 1, parent_le, None, strict, chain)?;
                chain.pop();
                if doc.is_none() && strict {
                    return Err(ResolveError::MissingParent {
                        item: name.to_owned(),
                        parent,
                    });
                }
                doc
            }
            None => None,
        };
        Ok(apply(start, &applicable))
    }

    fn explain_item(
        &mut self,
        name: &str,
        chain: &mut Vec<String>,
    ) -> Resolved<Vec<Applied>, S::Error> {
        let layers = self.layers(name)?;
        let mut rows = match topmost_extends(layers.iter()) {
            Some(parent) => {
                enter(chain, &parent)?;
                let rows = self.explain_item(&parent, chain)?;
                chain.pop();
                if rows.is_empty() {
                    return Err(ResolveError::MissingParent {
                        item: name.to_owned(),
                        parent,
                    });
                }
                rows
            }
            None => Vec::new(),
        };
        let first = last_replace(layers.iter());
        if first.is_some() {
            rows.clear();
        }
        for layer in &layers[first.unwrap_or(0)..] {
            let below = self.below(name, layer.meta.rank, layer.meta.extends.as_deref())?;
            let below_checksum = below.as_ref().map(checksum);
            rows.push(Applied {
                item: name.to_owned(),
                meta: layer.meta.clone(),
                stale: below_checksum != layer.meta.base_checksum,
            });
        }
        Ok(rows)
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

fn topmost_extends<'a>(layers: impl DoubleEndedIterator<Item = &'a Layer>) -> Option<String> {
    layers.rev().find_map(|l| l.meta.extends.clone())
}

fn last_replace<'a>(
    layers: impl DoubleEndedIterator<Item = &'a Layer> + ExactSizeIterator,
) -> Option<usize> {
    let len = layers.len();
    layers
        .rev()
        .position(|l| l.meta.strategy == Strategy::Replace)
        .map(|from_top| len - 1 - from_top)
}

/// Applies `layers` (bottom first) over `start`.
fn apply(start: Option<Value>, layers: &[&Layer]) -> Option<Value> {
    let (mut doc, from) = match last_replace(layers.iter().copied()) {
        Some(i) => (Some(layers[i].doc.clone()), i + 1),
        None => (start, 0),
    };
    for layer in &layers[from..] {
        match doc.as_mut() {
            Some(base) => merge_patch(base, &layer.doc),
            None => doc = Some(layer.doc.clone()),
        }
    }
    doc
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
