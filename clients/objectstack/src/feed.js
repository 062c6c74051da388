// The change-feed follower shared by the repository's watch() and the loader's cache: one
// dedicated connection from the pool LISTENs on the doorbell `metadata_changes`; on start,
// on every doorbell and after every reconnect it pages the durable feed after the last
// position it delivered until it is empty. The feed is dense and in commit order, so a
// follower that resumes from its last position loses nothing and sees nothing twice.
import { queryRows, scopedRows } from './sql.js';

/** Follow every tenant the login may read (a plain SELECT of the history, row level security applies). */
export const ALL_TENANTS = Symbol('all tenants');

const COLUMNS = `h.seq, h.op, h.tenant_id, h.type, h.name, h.scope, h.owner, h.state, h.version, h.checksum,
                 h.previous_checksum, h.changed_by, h.changed_at, h.note, p.op AS prev_op`;
const PREVIOUS = `LEFT JOIN metadata.sys_metadata_history p
                  ON p.item_id = h.item_id AND p.version = h.version - 1`;

/** The caller's feed: metadata.changes_since (global, its tenant's, its own user rows). */
const PAGE = scopedRows(`SELECT ${COLUMNS}
  FROM metadata.changes_since($3, $4) c
  JOIN metadata.sys_metadata_history h ON h.seq = c.seq AND h.seq IS NOT NULL
  ${PREVIOUS}`, 'ORDER BY q.seq');

/** Every row the login may read, in feed order. */
const PAGE_ALL = scopedRows(`SELECT ${COLUMNS}
  FROM metadata.sys_metadata_history h ${PREVIOUS}
  WHERE h.seq > $3 ORDER BY h.seq LIMIT $4`, 'ORDER BY q.seq');

/** The newest position the caller can see (0 for an empty feed). */
const HEAD = scopedRows(`SELECT coalesce(max(h.seq), 0) AS seq FROM metadata.sys_metadata_history h`);

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.then(() => { clearTimeout(t); resolve(); });
});

/**
 * Follows the change feed for one context (tenant, user) over a dedicated connection.
 *
 * `onRows(rows)` receives history rows (seq, op, tenant_id, type, name, scope, owner,
 * state, version, checksum, previous_checksum, prev_op, changed_by, changed_at, note) in seq order,
 * each seq once. `onState('live' | 'down' | 'closed')`: 'live' once connected and caught up,
 * 'down' when the connection is lost (it then reconnects with backoff and replays from its
 * last position), 'closed' at the end (close(), or the pool was ended).
 */
export class FeedFollower {
  /**
   * @param {object} o
   * @param {import('pg').Pool} o.pool
   * @param {string|null|typeof ALL_TENANTS} [o.tenantId] whose feed (null: the global space)
   * @param {string|null} [o.userId] whose user layers
   * @param {number} [o.since] replay every change after this position; omitted: start at the current position
   * @param {(rows: object[]) => void} o.onRows
   * @param {(state: 'live'|'down'|'closed', err?: Error) => void} [o.onState]
   * @param {{minMs?: number, maxMs?: number}} [o.reconnect] backoff (default 50 ms doubling to 2 s)
   * @param {number} [o.pageSize] rows per read of the feed (1..10000, default 1000)
   */
  constructor({ pool, tenantId = null, userId = null, since, onRows, onState, reconnect = {}, pageSize = 1000 }) {
    this.pool = pool;
    this.all = tenantId === ALL_TENANTS;
    this.ctx = { tenantId: this.all ? null : tenantId, userId };
    this.last = typeof since === 'number' ? since : undefined;
    this.known = 0; // the newest position a doorbell announced
    this.onRows = onRows;
    this.onState = onState ?? (() => {});
    this.minMs = reconnect.minMs ?? 50;
    this.maxMs = reconnect.maxMs ?? 2000;
    this.pageSize = pageSize;
    this.live = false;
    this.closed = false;
    this.client = null;
    this.kick = null; // wakes the serving loop
    this.pending = false;
    let stop;
    this.stopped = new Promise((resolve) => { stop = resolve; });
    this.stop = stop;
    let ready;
    /** Settles once the start position is fixed (or the first attempt failed, or close()). */
    this.ready = new Promise((resolve) => { ready = resolve; });
    this.markReady = ready;
    this.done = this.run();
  }

  /** Backend pid of the listening connection (null while down). */
  get pid() {
    return this.client?.processID ?? null;
  }

  /** Stops following and releases the connection. */
  async close() {
    if (!this.closed) {
      this.closed = true;
      this.stop();
      this.markReady();
      this.kick?.();
    }
    await this.done;
  }

  async run() {
    let delay = this.minMs;
    while (!this.closed) {
      let failure;
      try {
        await this.session();
        delay = this.minMs;
      } catch (err) {
        failure = err;
      }
      this.markReady();
      if (this.live) {
        this.live = false;
        this.onState('down', failure);
      }
      if (this.closed) break;
      if (this.pool.ending || this.pool.ended) {
        // the pool is gone: nothing to reconnect to
        this.closed = true;
        break;
      }
      await sleep(delay, this.stopped);
      delay = Math.min(delay * 2, this.maxMs);
    }
    this.markReady();
    this.onState('closed');
  }

  /** One connection's life: LISTEN, fix the position, catch up, then serve doorbells until it dies. */
  async session() {
    const client = await this.pool.connect();
    let lost;
    const ended = new Promise((resolve) => {
      lost = (err) => resolve(err ?? new Error('connection ended'));
      client.on('error', lost);
      client.on('end', lost);
    });
    const onNotification = (msg) => {
      if (msg.channel !== 'metadata_changes') return;
      let seq = NaN;
      try {
        seq = Number(JSON.parse(msg.payload).seq);
      } catch {
        // not a doorbell we know: read the feed anyway
      }
      if (Number.isFinite(seq)) this.known = Math.max(this.known, seq);
      if (!(seq <= this.last)) { this.pending = true; this.kick?.(); }
    };
    client.on('notification', onNotification);
    this.client = client;
    let broken = null;
    try {
      if (this.closed) return;
      const failed = ended.then((err) => { throw err; });
      failed.catch(() => {});
      const guard = (p) => Promise.race([p, failed]);
      await guard(client.query('LISTEN metadata_changes'));
      if (this.last === undefined) {
        const [head] = await guard(queryRows(client, this.ctx, HEAD, []));
        this.last = Number(head.seq);
      }
      this.markReady();
      await guard(this.drain(client));
      this.live = true;
      this.onState('live');
      for (;;) {
        if (this.closed) return;
        if (this.pending) {
          this.pending = false;
          await guard(this.drain(client));
          continue;
        }
        const woken = new Promise((resolve) => { this.kick = resolve; });
        const err = await Promise.race([woken.then(() => null), ended]);
        this.kick = null;
        if (err) throw err;
      }
    } catch (err) {
      broken = err;
      throw err;
    } finally {
      this.client = null;
      client.off('notification', onNotification);
      client.off('end', lost);
      client.off('error', lost);
      if (!broken && !this.closed) broken = new Error('follower stopped');
      if (broken) {
        client.on('error', () => {}); // a dying connection may still emit one
        client.release(true);
      } else {
        try {
          await client.query('UNLISTEN metadata_changes');
          client.release();
        } catch {
          client.release(true);
        }
      }
    }
  }

  /** Reads the feed after the last position until it is empty and hands the rows on. */
  async drain(client) {
    const target = this.known;
    for (;;) {
      const rows = await queryRows(client, this.ctx, this.all ? PAGE_ALL : PAGE, [this.last, this.pageSize]);
      const fresh = rows.filter((r) => Number(r.seq) > this.last);
      if (fresh.length > 0) {
        this.last = Number(fresh[fresh.length - 1].seq);
        if (!this.closed) this.onRows(fresh);
      }
      if (rows.length < this.pageSize) break;
    }
    // Everything up to a position announced before this read began is committed and was in
    // the read's snapshot: positions not returned are not ours to see.
    if (target > this.last) this.last = target;
  }
}
