//! The rules of a type that a written layer must keep (DESIGN §3 "locked_paths", §4
//! "Types"), decided from what is below the layer and what the layer produces:
//! * `supports_overlay = false`: no layer above the system scope over an existing item;
//! * `allow_runtime_create = false`: no item that exists only above the system scope;
//! * `locked_paths`: an overlay must not change the value at any of these JSON Pointers
//!   (RFC 6901); the base layer may.
//!
//! Schema validation of the effective document is the other check of a write
//! (`crate::core::schema`, with the validator cache of the pgrx layer).

use crate::core::layers::Scope;
use serde_json::Value;
use std::fmt;

/// What a type says about layers written over it.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub supports_overlay: bool,
    pub allow_runtime_create: bool,
    pub locked_paths: &'a [String],
}

/// A rule a layer breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// An overlay over an item of a type that does not allow overlays (SQLSTATE 0A000).
    OverlayNotAllowed,
    /// An item only above the system scope, of a type that does not allow that (0A000).
    RuntimeCreateNotAllowed,
    /// The layer changes the value at these locked paths (23514).
    LockedPathsChanged(Vec<String>),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::OverlayNotAllowed => write!(f, "the type does not allow overlays"),
            PolicyError::RuntimeCreateNotAllowed => {
                write!(
                    f,
                    "the type does not allow items created outside the system scope"
                )
            }
            PolicyError::LockedPathsChanged(paths) => {
                write!(f, "the layer changes locked path {}", paths.join(", "))
            }
        }
    }
}

/// Checks a layer written at `scope`: `below` is the document under it (`None`: nothing),
/// `through` the document it produces over `below` (what its audience would see without
/// the layers above).
pub fn check(
    rules: Rules<'_>,
    scope: Scope,
    below: Option<&Value>,
    through: &Value,
) -> Result<(), PolicyError> {
    if scope != Scope::System {
        if below.is_some() && !rules.supports_overlay {
            return Err(PolicyError::OverlayNotAllowed);
        }
        if below.is_none() && !rules.allow_runtime_create {
            return Err(PolicyError::RuntimeCreateNotAllowed);
        }
    }
    let Some(below) = below else { return Ok(()) };
    let changed: Vec<String> = rules
        .locked_paths
        .iter()
        .filter(|p| below.pointer(p) != through.pointer(p))
        .cloned()
        .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::LockedPathsChanged(changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(overlay: bool, runtime: bool, locked: &[String]) -> Rules<'_> {
        Rules {
            supports_overlay: overlay,
            allow_runtime_create: runtime,
            locked_paths: locked,
        }
    }

    #[test]
    fn overlays_and_runtime_items_as_the_type_allows() {
        let base = json!({"a": 1});
        assert_eq!(
            check(rules(true, true, &[]), Scope::Platform, Some(&base), &base),
            Ok(())
        );
        assert_eq!(
            check(rules(false, true, &[]), Scope::Platform, Some(&base), &base),
            Err(PolicyError::OverlayNotAllowed)
        );
        assert_eq!(
            check(rules(true, false, &[]), Scope::User, None, &base),
            Err(PolicyError::RuntimeCreateNotAllowed)
        );
        // The system scope is the base: neither rule applies to it.
        assert_eq!(
            check(rules(false, false, &[]), Scope::System, Some(&base), &base),
            Ok(())
        );
        assert_eq!(
            check(rules(false, false, &[]), Scope::System, None, &base),
            Ok(())
        );
    }

    #[test]
    fn locked_paths_may_not_change_over_a_base() {
        let locked = vec![
            "/name".to_owned(),
            "/fields/id/type".to_owned(),
            "/absent".to_owned(),
        ];
        let below = json!({"name": "account", "fields": {"id": {"type": "uuid"}}, "label": "A"});
        let relabel = json!({"name": "account", "fields": {"id": {"type": "uuid"}}, "label": "B"});
        assert_eq!(
            check(
                rules(true, true, &locked),
                Scope::Platform,
                Some(&below),
                &relabel
            ),
            Ok(())
        );
        let retyped = json!({"name": "account", "fields": {"id": {"type": "text"}}, "absent": 1});
        assert_eq!(
            check(
                rules(true, true, &locked),
                Scope::Platform,
                Some(&below),
                &retyped
            ),
            Err(PolicyError::LockedPathsChanged(vec![
                "/fields/id/type".into(),
                "/absent".into()
            ]))
        );
        // Removing a locked value is a change too; with nothing below, anything goes.
        let removed = json!({"fields": {"id": {"type": "uuid"}}});
        assert!(check(
            rules(true, true, &locked),
            Scope::User,
            Some(&below),
            &removed
        )
        .is_err());
        assert_eq!(
            check(rules(true, true, &locked), Scope::Platform, None, &retyped),
            Ok(())
        );
        assert_eq!(
            check(
                rules(true, true, &locked),
                Scope::System,
                Some(&below),
                &retyped
            )
            .is_err(),
            true
        );
    }
}
