//! The extension's settings that have a type and bounds (defined when the library loads;
//! set before that, they are checked then). The context settings `metadata.tenant_id` and
//! `metadata.user_id`, and the switches `metadata.effective_cache`,
//! `metadata.validator_cache` and `metadata.notify`, are read as plain custom settings.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `metadata.memo_size`: the bytes of effective documents (entries included) a backend
/// keeps in its memo, in kB; default 16 MB, at most 1 GB; 0 turns the memo off.
pub static MEMO_SIZE: GucSetting<i32> = GucSetting::<i32>::new(16 * 1024);

/// Defines the settings (from `_PG_init`).
pub fn define() {
    GucRegistry::define_int_guc(
        c"metadata.memo_size",
        c"Memory for memoised effective documents, per backend.",
        c"Bytes of effective documents of multi-layer items a backend keeps (every byte an entry costs is counted); the oldest are evicted first. 0 turns the memo off.",
        &MEMO_SIZE,
        0,
        1024 * 1024,
        GucContext::Userset,
        GucFlags::UNIT_KB,
    );
}

/// The memo budget now, in bytes.
pub fn memo_budget() -> usize {
    usize::try_from(MEMO_SIZE.get()).unwrap_or(0) * 1024
}
