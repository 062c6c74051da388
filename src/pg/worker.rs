//! The feed worker (preloaded mode, DESIGN §4 "Preloaded mode"): one background worker per
//! database numbers the committed changes and rings the doorbell, so that writers take no
//! feed lock and send no NOTIFY.
//!
//! - **Which databases.** A database gets its worker when a transaction that changed its
//!   metadata commits (the commit wakes the worker, or registers one when none runs), or
//!   when `feed_bounds()` or `metadata.stats` is read there: no list of databases to keep
//!   in a setting. A database takes one of `metadata.feed_databases` slots for the
//!   server's life.
//! - **The step.** In a short transaction of its own, as the bootstrap superuser, it takes
//!   the feed lock, numbers the history rows that have no position yet and are committed
//!   (visible to its snapshot), in the order of their history id (the order they were
//!   written, which is commit order for the changes of one item: a second writer of an item
//!   waits for the first one's commit before it writes), at most 10,000 per transaction,
//!   moves the head and notifies `{"seq": last, "count": n}` once per step. A position is
//!   given once (`seq` is written once) and only by a committed step, so readers of
//!   `changes_since` never see a change appear below a position they have read, and the
//!   feed stays dense.
//! - **When.** Woken by a commit through its latch, else every
//!   `metadata.feed_poll_interval`; it leaves a database idle for `metadata.feed_idle_exit`
//!   (so that `DROP DATABASE`, which waits 5 s for other sessions, is not blocked), and the
//!   next commit starts it again.
//! - **Not running** (no free background worker slot, `max_worker_processes`; an error;
//!   the extension at another version than the library; a logical replication subscriber
//!   of the history, whose positions come from the publisher): changes wait without a position,
//!   nothing is lost, and `metadata.stats` shows them as the backlog.
//! - **Retention.** With `metadata.history_max_versions` or `metadata.history_max_age` set,
//!   it runs `prune_history` every `metadata.history_prune_interval`.

use crate::pg::shared::{index_of, slot_of, slots, Slot};
use crate::pg::statements::{run, FLOAT8, INT4, INT8};
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// `metadata.feed_poll_interval` (ms): how often an idle worker looks for changes it was not
/// woken for.
static POLL_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(1000);
/// `metadata.feed_idle_exit` (ms): how long a worker waits without changes before it leaves.
static IDLE_EXIT: GucSetting<i32> = GucSetting::<i32>::new(3000);
/// `metadata.history_max_versions`: the retention the worker applies (0: none).
static MAX_VERSIONS: GucSetting<i32> = GucSetting::<i32>::new(0);
/// `metadata.history_max_age` (s): the retention the worker applies (0: none).
static MAX_AGE: GucSetting<i32> = GucSetting::<i32>::new(0);
/// `metadata.history_prune_interval` (s): how often the worker applies it.
static PRUNE_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(3600);

/// `metadata.feed_sync`: a commit that changed metadata returns once its changes have
/// their feed positions (at most 5 s), as in plain mode.
pub static FEED_SYNC: GucSetting<bool> = GucSetting::<bool>::new(false);

/// The changes one step numbers at most.
const BATCH: i64 = 10_000;

/// Defines the worker's settings (from `_PG_init`; read at each reload, SIGHUP).
pub fn define() {
    GucRegistry::define_bool_guc(
        c"metadata.feed_sync",
        c"A commit that changed metadata waits for its feed positions (preloaded mode).",
        c"As in plain mode, the session's next statement then finds its changes in changes_since; the commit waits at most 5 s for the feed worker.",
        &FEED_SYNC,
        GucContext::Userset,
        GucFlags::default(),
    );
    let int = |name: &'static std::ffi::CStr,
               short: &'static std::ffi::CStr,
               long: &'static std::ffi::CStr,
               setting: &'static GucSetting<i32>,
               min: i32,
               max: i32,
               flags: GucFlags| {
        GucRegistry::define_int_guc(
            name,
            short,
            long,
            setting,
            min,
            max,
            GucContext::Sighup,
            flags,
        );
    };
    int(
        c"metadata.feed_poll_interval",
        c"How often the feed worker looks for changes it was not woken for (preloaded mode).",
        c"A commit wakes the worker at once; this bounds the delay when a wake was missed.",
        &POLL_INTERVAL,
        10,
        60_000,
        GucFlags::UNIT_MS,
    );
    int(
        c"metadata.feed_idle_exit",
        c"How long the feed worker of a database stays without changes before it leaves.",
        c"The next commit of a change starts it again. Below 5 s, DROP DATABASE is not held up.",
        &IDLE_EXIT,
        100,
        3_600_000,
        GucFlags::UNIT_MS,
    );
    int(
        c"metadata.history_max_versions",
        c"History retention the feed worker applies: versions kept per row (0: no limit).",
        c"As prune_history(max_versions); never a row's current version.",
        &MAX_VERSIONS,
        0,
        i32::MAX,
        GucFlags::default(),
    );
    int(
        c"metadata.history_max_age",
        c"History retention the feed worker applies: age of history rows kept (0: no limit).",
        c"As prune_history(max_age), measured from each change's feed position (sequenced_at).",
        &MAX_AGE,
        0,
        i32::MAX,
        GucFlags::UNIT_S,
    );
    int(
        c"metadata.history_prune_interval",
        c"How often the feed worker applies history retention.",
        c"Only when metadata.history_max_versions or metadata.history_max_age is set.",
        &PRUNE_INTERVAL,
        1,
        i32::MAX,
        GucFlags::UNIT_S,
    );
}

/// Wakes the feed worker of this database, or registers one when none runs. Called after a
/// commit that wrote changes, and by readers of the feed's state; never raises an error.
pub fn wake() {
    // SAFETY: the current database's OID; recovery state.
    let (database, recovering, parallel) = unsafe {
        (
            pg_sys::MyDatabaseId,
            pg_sys::RecoveryInProgress(),
            pg_sys::ParallelWorkerNumber >= 0,
        )
    };
    if recovering || parallel {
        return;
    }
    let Some(slot) = slot_of(database) else {
        return;
    };
    let procno = slot.procno.load(Ordering::SeqCst);
    if procno >= 0 {
        // SAFETY: a PGPROC number published by a running worker; its latch is in shared
        // memory, and setting the latch of a process that has just left is harmless.
        unsafe {
            let proc_ = (*pg_sys::ProcGlobal).allProcs.add(procno as usize);
            pg_sys::SetLatch(&mut (*proc_).procLatch);
        }
        return;
    }
    if slot
        .starting
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
        && start(slot, database).is_err()
    {
        slot.starting.store(false, Ordering::SeqCst);
    }
}

fn start(slot: &Slot, database: pg_sys::Oid) -> Result<(), ()> {
    let index = index_of(slot);
    BackgroundWorkerBuilder::new(&format!(
        "metadata feed worker for database {}",
        u32::from(database)
    ))
    .set_type("metadata feed worker")
    .set_library("metadata")
    .set_function("metadata_feed_worker_main")
    .enable_spi_access()
    .set_start_time(BgWorkerStartTime::RecoveryFinished)
    .set_restart_time(None)
    .set_argument(Some(pg_sys::Datum::from(index)))
    .set_notify_pid(0)
    .load_dynamic()
    .map(|_| ())
    .map_err(|_| ())
}

/// What the feed worker of a database did (`metadata.stats`).
pub struct Report {
    /// Its process id; None when none runs.
    pub pid: Option<i32>,
    /// When it last notified and last pruned (Postgres timestamps).
    pub last_notify: Option<pg_sys::TimestampTz>,
    pub last_prune: Option<pg_sys::TimestampTz>,
}

/// What the feed worker of this database did; None without a slot (or preloading).
pub fn report() -> Option<Report> {
    // SAFETY: the current database's OID.
    let slot = slot_of(unsafe { pg_sys::MyDatabaseId })?;
    let at = |t: i64| (t != 0).then_some(t);
    let pid = slot.pid.load(Ordering::SeqCst);
    Some(Report {
        pid: (pid != 0).then_some(pid),
        last_notify: at(slot.last_notify.load(Ordering::Relaxed)),
        last_prune: at(slot.last_prune.load(Ordering::Relaxed)),
    })
}

/// The worker's entry point (see the module documentation); its argument is its slot.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn metadata_feed_worker_main(arg: pg_sys::Datum) {
    let index = arg.value();
    let Some(slot) = slots().get(index) else {
        return;
    };
    let database = slot.database.load(Ordering::SeqCst);
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(database)), None);
    // SAFETY: this process's PGPROC and pid; the exit callback clears them again, also when
    // the worker leaves by an error.
    unsafe {
        pg_sys::before_shmem_exit(Some(release), pg_sys::Datum::from(index));
        slot.pid.store(pg_sys::MyProcPid, Ordering::SeqCst);
        slot.procno
            .store((*pg_sys::MyProc).pgprocno, Ordering::SeqCst);
    }
    slot.starting.store(false, Ordering::SeqCst);
    BackgroundWorker::transaction(|| {
        Spi::run("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)")
            .expect("pinning search_path");
    });
    let mut last_change = Instant::now();
    loop {
        if BackgroundWorker::sighup_received() {
            // SAFETY: re-reading postgresql.conf at a point where no transaction is open.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let Some(numbered) = step_and_publish(slot) else {
            break; // the extension is not (or no longer) installed here at this version
        };
        if numbered > 0 {
            if setting_notify() {
                // SAFETY: reading the clock.
                slot.last_notify
                    .store(unsafe { pg_sys::GetCurrentTimestamp() }, Ordering::Relaxed);
            }
            last_change = Instant::now();
            if numbered >= BATCH {
                continue;
            }
        }
        prune_when_due(slot);
        if last_change.elapsed() >= Duration::from_millis(IDLE_EXIT.get().max(100) as u64) {
            // Leave: first stop taking wakes, then one last step, so that a commit that
            // saw this worker running is numbered by it, and a later one starts a new one.
            slot.procno.store(-1, Ordering::SeqCst);
            step_and_publish(slot);
            break;
        }
        let poll = Duration::from_millis(POLL_INTERVAL.get().max(10) as u64);
        if !BackgroundWorker::wait_latch(Some(poll)) {
            break;
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn release(_code: i32, arg: pg_sys::Datum) {
    if let Some(slot) = slots().get(arg.value()) {
        if slot.pid.load(Ordering::SeqCst) == pg_sys::MyProcPid {
            slot.procno.store(-1, Ordering::SeqCst);
            slot.pid.store(0, Ordering::SeqCst);
        }
        slot.starting.store(false, Ordering::SeqCst);
    }
}

fn setting_notify() -> bool {
    crate::pg::context::setting(c"metadata.notify").as_deref() != Some("off")
}

/// Runs a step in a transaction of its own and, once it committed having left nothing
/// behind, publishes the completion count it read before its snapshot: every transaction
/// completed by then has its changes numbered. Returns what the step numbered.
fn step_and_publish(slot: &Slot) -> Option<i64> {
    let (numbered, horizon) = BackgroundWorker::transaction(step)?;
    if numbered < BATCH {
        slot.numbered_through.fetch_max(horizon, Ordering::SeqCst);
    }
    Some(numbered)
}

/// Waits until the feed worker of this database has numbered the changes of every
/// transaction completed by completion count `completed` (see [`step_and_publish`]), for
/// at most `timeout`; false when the timeout passed first or no worker can run. Never raises
/// an error (a commit waits here with `metadata.feed_sync`); `interruptible`: a cancel ends
/// the wait with an error (not at commit, where interrupts are held anyway).
pub fn wait_numbered(completed: u64, timeout: Duration, interruptible: bool) -> bool {
    // SAFETY: the current database's OID.
    let Some(slot) = slot_of(unsafe { pg_sys::MyDatabaseId }) else {
        return false;
    };
    let deadline = Instant::now() + timeout;
    loop {
        if slot.numbered_through.load(Ordering::SeqCst) >= completed {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        wake();
        // SAFETY: this backend's latch, waited on for at most a millisecond.
        unsafe {
            pg_sys::WaitLatch(
                pg_sys::MyLatch,
                (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
                1,
                pg_sys::PG_WAIT_EXTENSION,
            );
            pg_sys::ResetLatch(pg_sys::MyLatch);
        }
        if interruptible {
            pgrx::check_for_interrupts!();
        }
    }
}

/// One feed step (see the module documentation): Some(number of changes numbered, the
/// completion count read before the numbering statement's snapshot), None when the
/// extension is not installed in this database at the library's version, or when the
/// database subscribes to the history by logical replication (the publisher numbers it).
fn step() -> Option<(i64, u64)> {
    Spi::connect_mut(|client| {
        // A logical replication subscriber of the history gets the positions the publisher
        // gave (docs/scale-out.md): it numbers nothing itself.
        let (installed, subscribed) = run(
            client,
            "worker/installed",
            || {
                "SELECT e.extversion, EXISTS (SELECT 1 FROM pg_catalog.pg_subscription_rel r \
                     WHERE r.srrelid OPERATOR(pg_catalog.=) \
                           pg_catalog.to_regclass('metadata.sys_metadata_history')) \
                 FROM pg_catalog.pg_extension e WHERE e.extname = 'metadata'"
                    .to_owned()
            },
            &[],
            &[],
            |rows| {
                if rows.is_empty() {
                    return (None, false);
                }
                let row = rows.first();
                (
                    row.get::<String>(1).ok().flatten(),
                    row.get::<bool>(2).ok().flatten().unwrap_or(false),
                )
            },
        );
        if installed.as_deref() != Some(env!("CARGO_PKG_VERSION")) || subscribed {
            return None;
        }
        run(
            client,
            "worker/lock",
            || "LOCK TABLE metadata.sys_metadata_feed IN EXCLUSIVE MODE".to_owned(),
            &[],
            &[],
            |_| (),
        );
        // SAFETY: the shared count of completed transactions, read before the next
        // statement takes its snapshot (which then sees every one of them).
        let horizon = unsafe { (*pg_sys::ShmemVariableCache).xactCompletionCount };
        let (last, numbered) = run(
            client,
            "worker/number",
            || {
                "WITH head AS ( \
                   SELECT coalesce((SELECT f.head FROM metadata.sys_metadata_feed f), \
                                   (SELECT max(h.seq) FROM metadata.sys_metadata_history h), 0) AS n), \
                 todo AS ( \
                   SELECT u.id, row_number() OVER (ORDER BY u.id) AS n \
                   FROM (SELECT h.id FROM metadata.sys_metadata_history h WHERE h.seq IS NULL \
                         ORDER BY h.id LIMIT $1) AS u), \
                 numbered AS ( \
                   UPDATE metadata.sys_metadata_history h \
                   SET seq = head.n + todo.n, sequenced_at = clock_timestamp() \
                   FROM todo, head WHERE h.id = todo.id RETURNING h.seq), \
                 moved AS ( \
                   INSERT INTO metadata.sys_metadata_feed AS f (head) \
                   SELECT max(seq) FROM numbered HAVING count(*) > 0 \
                   ON CONFLICT (id) DO UPDATE SET head = EXCLUDED.head RETURNING f.head) \
                 SELECT (SELECT head FROM moved), (SELECT count(*) FROM numbered)"
                    .to_owned()
            },
            &[INT8],
            &[BATCH.into()],
            |rows| {
                let row = rows.first();
                (
                    row.get::<i64>(1).ok().flatten().unwrap_or(0),
                    row.get::<i64>(2).ok().flatten().unwrap_or(0),
                )
            },
        );
        if numbered > 0 && setting_notify() {
            let payload = format!("{{\"seq\": {last}, \"count\": {numbered}}}");
            run(
                client,
                "worker/notify",
                || "SELECT pg_notify('metadata_changes', $1)".to_owned(),
                &[crate::pg::statements::TEXT],
                &[payload.as_str().into()],
                |_| (),
            );
        }
        Some((numbered, horizon))
    })
}

/// Applies the retention settings when they are set and the interval has passed.
fn prune_when_due(slot: &Slot) {
    let (versions, age) = (MAX_VERSIONS.get(), MAX_AGE.get());
    if versions <= 0 && age <= 0 {
        return;
    }
    // SAFETY: reading the clock.
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    let interval = i64::from(PRUNE_INTERVAL.get().max(1)) * 1_000_000;
    let last = slot.last_prune.load(Ordering::Relaxed);
    if last != 0 && now - last < interval {
        return;
    }
    slot.last_prune.store(now, Ordering::Relaxed);
    let versions = (versions > 0).then_some(versions);
    let age = (age > 0).then_some(f64::from(age));
    BackgroundWorker::transaction(|| {
        Spi::connect_mut(|client| {
            run(
                client,
                "worker/prune",
                || "SELECT metadata._prune_history($1, $2)".to_owned(),
                &[INT4, FLOAT8],
                &[versions.into(), age.into()],
                |_| (),
            )
        })
    });
}
