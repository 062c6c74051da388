//! The thin pgrx layer: SQL-callable functions (all named `metadata._*`; the public SQL
//! surface wraps them in `sql/*.sql`), the caller's context, the database as a
//! [`LayerSource`](crate::core::resolve::LayerSource), and error reporting.

pub(crate) mod binding;
pub(crate) mod bulk;
pub(crate) mod checks;
mod context;
mod counters;
pub(crate) mod dependencies;
pub(crate) mod documents;
pub(crate) mod edges;
mod errors;
pub(crate) mod feed;
pub(crate) mod history;
pub(crate) mod intent;
pub(crate) mod jsonb;
pub(crate) mod key;
mod legacy;
mod migrate;
mod owner;
pub(crate) mod packages;
pub(crate) mod release;
pub(crate) mod resolution;
pub(crate) mod retention;
pub(crate) mod revalidate;
pub(crate) mod settings;
pub(crate) mod shared;
mod source;
mod statements;
pub(crate) mod stats;
pub(crate) mod trigger;
mod tuple;
mod types;
pub(crate) mod validation;
pub(crate) mod worker;
pub(crate) mod write;
