//! Preloaded mode's shared memory (DESIGN §4 "Preloaded mode"): present only when the
//! library is loaded by `shared_preload_libraries = 'metadata'`, sized at server start by
//! `metadata.change_buckets` and `metadata.feed_databases`, and laid out once by the
//! postmaster (every backend, forked from it, sees the same addresses):
//!
//! - the change buckets: per (database, tenant, type) bucket the writers in flight and the
//!   completion count of its last commit ([`crate::core::shortcut`] says what readers do
//!   with them);
//! - the feed slots: per database, its feed worker ([`crate::pg::worker`]) and what that
//!   worker did (last notification, last pruning, how far it numbered).
//!
//! Everything in it is an atomic, so no lock is taken by writers or readers.

use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering,
};

/// `metadata.change_buckets`: change buckets in shared memory (server start only).
static CHANGE_BUCKETS: GucSetting<i32> = GucSetting::<i32>::new(4096);
/// `metadata.feed_databases`: databases that can have a feed worker (server start only).
static FEED_DATABASES: GucSetting<i32> = GucSetting::<i32>::new(16);

/// One change bucket.
#[repr(C)]
pub struct Bucket {
    /// Writers of the bucket between their pre-commit and post-commit steps.
    pub in_flight: AtomicU64,
    /// The highest completion count a writer of the bucket read after its commit.
    pub last_commit: AtomicU64,
}

/// The feed worker of one database.
#[repr(C)]
pub struct Slot {
    /// The database's OID; 0 for a free slot.
    pub database: AtomicU32,
    /// The running worker's PGPROC number, -1 when none runs.
    pub procno: AtomicI32,
    /// Its process id, 0 when none runs.
    pub pid: AtomicI32,
    /// A worker was registered and has not started its loop yet.
    pub starting: AtomicBool,
    /// When it last notified (Postgres timestamp, 0: never).
    pub last_notify: AtomicI64,
    /// When it last pruned the history (Postgres timestamp, 0: never).
    pub last_prune: AtomicI64,
    /// A completion count up to which every committed change has its position: read by a
    /// step before its snapshot, published after its commit when it left nothing behind.
    pub numbered_through: AtomicU64,
}

#[repr(C)]
struct Header {
    buckets: usize,
    slots: usize,
}

/// The shared region: its header, then the slots, then the buckets.
static REGION: AtomicPtr<Header> = AtomicPtr::new(std::ptr::null_mut());
static mut PREV_REQUEST: pg_sys::shmem_request_hook_type = None;
static mut PREV_STARTUP: pg_sys::shmem_startup_hook_type = None;

fn sizes() -> (usize, usize) {
    (
        usize::try_from(CHANGE_BUCKETS.get()).unwrap_or(1).max(1),
        usize::try_from(FEED_DATABASES.get()).unwrap_or(1).max(1),
    )
}

fn region_size(buckets: usize, slots: usize) -> usize {
    size_of::<Header>() + slots * size_of::<Slot>() + buckets * size_of::<Bucket>()
}

/// When the library is being preloaded: defines the settings of shared memory's size, asks
/// for the region and installs the hooks that lay it out (from `_PG_init`).
pub fn init() {
    // Server-start settings can only be defined while the server starts.
    // SAFETY: a flag Postgres sets while it loads shared_preload_libraries.
    if unsafe { !pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    GucRegistry::define_int_guc(
        c"metadata.change_buckets",
        c"Change buckets in shared memory (preloaded mode).",
        c"Per (database, tenant, type) counters that let effective() answer from memory when nothing it depends on changed; more buckets, fewer unrelated misses. 16 bytes each.",
        &CHANGE_BUCKETS,
        1,
        1 << 20,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"metadata.feed_databases",
        c"Databases that can have a feed worker (preloaded mode).",
        c"Each database whose changes the feed worker numbers takes one slot for the server's life.",
        &FEED_DATABASES,
        1,
        1024,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    // SAFETY: _PG_init runs once per process; the hooks are chained to the previous ones.
    unsafe {
        PREV_REQUEST = pg_sys::shmem_request_hook;
        pg_sys::shmem_request_hook = Some(request);
        PREV_STARTUP = pg_sys::shmem_startup_hook;
        pg_sys::shmem_startup_hook = Some(startup);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn request() {
    if let Some(prev) = PREV_REQUEST {
        prev();
    }
    let (buckets, slots) = sizes();
    pg_sys::RequestAddinShmemSpace(region_size(buckets, slots));
}

#[pg_guard]
unsafe extern "C-unwind" fn startup() {
    if let Some(prev) = PREV_STARTUP {
        prev();
    }
    let (buckets, slots) = sizes();
    let size = region_size(buckets, slots);
    let mut found = false;
    // Only the postmaster runs this (no EXEC_BACKEND on the platforms built for), at start
    // and after a crash, when no backend is attached: no lock is needed.
    let base = pg_sys::ShmemInitStruct(c"metadata".as_ptr(), size, &mut found).cast::<Header>();
    if !found {
        std::ptr::write_bytes(base.cast::<u8>(), 0, size);
        (*base).buckets = buckets;
        (*base).slots = slots;
        for slot in slots_of(base) {
            slot.procno.store(-1, Ordering::Relaxed);
        }
    }
    REGION.store(base, Ordering::Release);
}

fn slots_of(base: *mut Header) -> &'static [Slot] {
    // SAFETY: the region holds the header, then `slots` slots, laid out by `startup`; it
    // lives as long as the server and holds only atomics.
    unsafe {
        let first = base.add(1).cast::<Slot>();
        std::slice::from_raw_parts(first, (*base).slots)
    }
}

fn buckets_of(base: *mut Header) -> &'static [Bucket] {
    // SAFETY: as in slots_of; the buckets follow the slots.
    unsafe {
        let first = base
            .add(1)
            .cast::<Slot>()
            .add((*base).slots)
            .cast::<Bucket>();
        std::slice::from_raw_parts(first, (*base).buckets)
    }
}

/// Whether the library was preloaded (the shared region exists).
pub fn preloaded() -> bool {
    !REGION.load(Ordering::Acquire).is_null()
}

/// The change buckets; empty without preloading.
pub fn buckets() -> &'static [Bucket] {
    let base = REGION.load(Ordering::Acquire);
    if base.is_null() {
        &[]
    } else {
        buckets_of(base)
    }
}

/// The feed slots; empty without preloading.
pub fn slots() -> &'static [Slot] {
    let base = REGION.load(Ordering::Acquire);
    if base.is_null() {
        &[]
    } else {
        slots_of(base)
    }
}

/// The slot of `database`, taking a free one if it has none; None when every slot is taken
/// (or without preloading).
pub fn slot_of(database: pg_sys::Oid) -> Option<&'static Slot> {
    let oid = u32::from(database);
    let slots = slots();
    if let Some(slot) = slots
        .iter()
        .find(|s| s.database.load(Ordering::Acquire) == oid)
    {
        return Some(slot);
    }
    slots.iter().find(|s| {
        s.database
            .compare_exchange(0, oid, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            || s.database.load(Ordering::Acquire) == oid
    })
}

/// The slot index of `slot` (the worker's argument).
pub fn index_of(slot: &Slot) -> usize {
    let first = slots().as_ptr();
    // SAFETY: `slot` is an element of the slots array.
    usize::try_from(unsafe { (slot as *const Slot).offset_from(first) }).unwrap_or(0)
}
