//! The vocabulary of layered items (DESIGN §2–§3): scopes, strategies, states, and the
//! rank that orders the layers of one item from bottom to top.

use serde_json::Value;

/// Who a layer belongs to: `system` (shipped by a package) < `platform` (admin
/// customisation) < `user` (personal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    System,
    Platform,
    User,
}

impl Scope {
    /// Parses the SQL spelling (`system`, `platform`, `user`).
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "system" => Some(Scope::System),
            "platform" => Some(Scope::Platform),
            "user" => Some(Scope::User),
            _ => None,
        }
    }

    /// The SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::System => "system",
            Scope::Platform => "platform",
            Scope::User => "user",
        }
    }
}

/// How a layer combines with what is below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The document is a JSON Merge Patch (RFC 7396) applied to the layers below.
    Merge,
    /// The document replaces everything below it.
    Replace,
}

impl Strategy {
    /// Parses the SQL spelling (`merge`, `replace`).
    pub fn parse(text: &str) -> Option<Strategy> {
        match text {
            "merge" => Some(Strategy::Merge),
            "replace" => Some(Strategy::Replace),
            _ => None,
        }
    }

    /// The SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Merge => "merge",
            Strategy::Replace => "replace",
        }
    }
}

/// The state of a stored row (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// A pending change of a layer, beside its live row; applies only to previews.
    Draft,
    /// The live row of a layer.
    Active,
    /// Soft-deleted: kept with its history, never applied; a later save revives it.
    Archived,
    /// Live, still applied, flagged as on its way out.
    Deprecated,
}

impl State {
    /// Every state, in the order the SQL CHECK constraint lists them.
    pub const ALL: [State; 4] = [
        State::Draft,
        State::Active,
        State::Archived,
        State::Deprecated,
    ];

    /// Parses the SQL spelling (`draft`, `active`, `archived`, `deprecated`).
    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Active => "active",
            State::Archived => "archived",
            State::Deprecated => "deprecated",
        }
    }

    /// Whether a row in this state is the live row of its layer (active or deprecated).
    pub fn is_live(self) -> bool {
        matches!(self, State::Active | State::Deprecated)
    }
}

/// What a save does when its layer already exists (DESIGN §4 `save(..., on_conflict)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Store the new document; attributes not given are kept.
    Update,
    /// Refuse (23505 unique_violation).
    Error,
    /// Leave the stored layer as it is and return it.
    Skip,
    /// Store the new document and attributes; those not given take their defaults.
    Replace,
}

impl OnConflict {
    /// Every choice, in the order error messages list them.
    pub const ALL: [OnConflict; 4] = [
        OnConflict::Update,
        OnConflict::Error,
        OnConflict::Skip,
        OnConflict::Replace,
    ];

    /// Parses the SQL spelling (`update`, `error`, `skip`, `replace`).
    pub fn parse(text: &str) -> Option<OnConflict> {
        OnConflict::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Update => "update",
            OnConflict::Error => "error",
            OnConflict::Skip => "skip",
            OnConflict::Replace => "replace",
        }
    }
}

/// Position of a layer in the effective stack (DESIGN §3), bottom first:
/// 0 `system` global, 1 `platform` global, 2 `platform` of the tenant, 3 `user` of the
/// tenant for the current user.
pub type Rank = u8;

/// Number of ranks; `LAYER_COUNT` as an exclusive bound means "every layer".
pub const LAYER_COUNT: Rank = 4;

/// The rank of a layer of `scope` whose row has (`true`) or has not (`false`) a tenant.
/// A `platform` row without tenant is the global platform layer; with one, the tenant's.
pub fn rank_of(scope: Scope, has_tenant: bool) -> Rank {
    match (scope, has_tenant) {
        (Scope::System, _) => 0,
        (Scope::Platform, false) => 1,
        (Scope::Platform, true) => 2,
        (Scope::User, _) => 3,
    }
}

/// What is known of a stored layer besides its document (what `explain` reports).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerMeta {
    pub rank: Rank,
    pub scope: Scope,
    pub tenant_id: Option<String>,
    pub owner: Option<String>,
    pub strategy: Strategy,
    /// Name of the item of the same type this layer derives from, if it says so.
    pub extends: Option<String>,
    pub state: State,
    pub version: i32,
    pub checksum: String,
    pub base_checksum: Option<String>,
}

/// One stored layer of an item, as the resolver needs it. The data source has already
/// picked the rows that apply to the caller (tenant, user, draft preview): at most one
/// layer per rank, sorted by rank. `D` is how the document is held: a parsed [`Value`], or
/// the database's own bytes until the document is really needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<D = Value> {
    pub meta: LayerMeta,
    /// The document: a JSON Merge Patch (RFC 7396) for `merge`, the whole item for `replace`.
    pub doc: D,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in [Scope::System, Scope::Platform, Scope::User] {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        for s in [Strategy::Merge, Strategy::Replace] {
            assert_eq!(Strategy::parse(s.as_str()), Some(s));
        }
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for c in OnConflict::ALL {
            assert_eq!(OnConflict::parse(c.as_str()), Some(c));
        }
        assert_eq!(State::parse("deleted"), None);
        assert!(
            State::Deprecated.is_live() && !State::Draft.is_live() && !State::Archived.is_live()
        );
        assert_eq!(Scope::parse("System"), None);
        assert_eq!(Strategy::parse(""), None);
    }

    #[test]
    fn ranks_follow_design_order() {
        assert!(rank_of(Scope::System, false) < rank_of(Scope::Platform, false));
        assert!(rank_of(Scope::Platform, false) < rank_of(Scope::Platform, true));
        assert!(rank_of(Scope::Platform, true) < rank_of(Scope::User, true));
        assert_eq!(rank_of(Scope::User, false), 3);
    }
}
