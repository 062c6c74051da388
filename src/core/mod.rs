//! Pure logic of the extension: no Postgres types here, so everything is unit-tested with
//! plain `cargo test` and can be benchmarked without a server.
//!
//! - [`builtin`]: the built-in type registrations and their schemas (`src/schemas/`).
//! - [`diff`]: RFC 6902 JSON Patch between two documents, bounded in size.
//! - [`document`]: parsing stored documents with size and depth limits.
//! - [`canonical`]: canonical JSON text and `sha256:` checksums (DESIGN §2).
//! - [`pointer`]: JSON Pointer (RFC 6901) building for error messages.
//! - [`layers`]: scopes, strategies, states and the rank of a layer (DESIGN §2–§3).
//! - [`resolve`]: effective resolution of layered items, `extends` chains, staleness (DESIGN §3).
//! - [`merge3`]: three-way merge of a customisation over a package upgrade.
//! - [`package`]: what a package bundle says and what upgrading to it does (DESIGN §4 "Packages").
//! - [`memo`]: a bounded memo of effective documents keyed by layer checksums.
//! - [`shortcut`]: when a remembered answer may skip the table (preloaded mode).
//! - [`names`]: the machine-name and type-name rules.
//! - [`write`]: what save, publish and delete do to the rows of a layer key.
//! - [`references`]: what a document names at its type's reference paths; load order.
//! - [`policy`]: the type rules a written layer must keep (overlays, runtime items, locked paths).
//! - [`schema`]: JSON Schema compilation and validation (`jsonschema` crate, offline).
//! - [`schema_loops`]: `$ref` loops that would accept every document, refused.

pub mod builtin;
pub mod canonical;
pub mod diff;
pub mod document;
pub mod layers;
pub mod memo;
pub mod merge3;
pub mod names;
pub mod package;
pub mod pointer;
pub mod policy;
pub mod references;
pub mod resolve;
pub mod schema;
pub mod schema_loops;
pub mod shortcut;
pub mod write;
