// The async iterator behind PostgresMetadataRepository.watch(): events of a FeedFollower,
// filtered by org/type/name, in seq order, each seq once; return() or the repository's
// close() ends it (a parked next() settles {done: true}).
import { ALL_TENANTS, FeedFollower } from './feed.js';
import { SYSTEM_ORG, orgOf, toEvent } from './rows.js';

const DONE = Object.freeze({ value: undefined, done: true });

/** Live event stream of one watch() call; see PostgresMetadataRepository.watch. */
export class WatchStream {
  /**
   * @param {object} o
   * @param {import('pg').Pool} o.pool
   * @param {import('@objectstack/metadata-core').WatchFilter} o.filter
   * @param {number} [o.since]
   * @param {object} [o.reconnect] backoff, see FeedFollower
   * @param {(stream: WatchStream) => void} o.onEnd called once when the stream ends
   * @param {string|null|symbol} [o.tenantId] whose feed a filter without org follows (default ALL_TENANTS)
   */
  constructor({ pool, filter = {}, since, reconnect, onEnd, tenantId = ALL_TENANTS }) {
    this.filter = filter;
    this.queue = [];
    this.waiters = [];
    this.ended = false;
    this.onEnd = onEnd;
    const org = filter.org;
    this.follower = new FeedFollower({
      pool,
      // the org's own feed (global rows and its tenant's); without org, the default feed
      tenantId: org === undefined ? tenantId : org === SYSTEM_ORG ? null : org,
      since,
      reconnect,
      onRows: (rows) => this.push(rows),
      onState: (state) => { if (state === 'closed') this.end(); },
    });
  }

  /** Settles once the stream's start position is fixed (see FeedFollower.ready). */
  get ready() {
    return this.follower.ready;
  }

  /** Queues the events of feed rows that match the filter (or hands them to parked next() calls). */
  push(rows) {
    for (const row of rows) {
      const org = orgOf(row);
      // global platform rows, user rows and drafts are not the repository's
      if (org === null || row.state === 'draft') continue;
      const f = this.filter;
      if (f.org !== undefined && f.org !== org) continue;
      if (f.type !== undefined && f.type !== row.type) continue;
      if (f.name !== undefined && f.name !== row.name) continue;
      const evt = toEvent(row);
      if (this.waiters.length > 0) {
        this.waiters.shift()({ value: evt, done: false });
      } else {
        this.queue.push(evt);
      }
    }
  }

  /** Ends the stream: pending and later next() calls settle {done: true}. */
  end() {
    if (this.ended) return this.follower.done;
    this.ended = true;
    this.queue.length = 0;
    for (const w of this.waiters.splice(0)) w(DONE);
    this.onEnd?.(this);
    return this.follower.close();
  }

  /** AsyncIterator.next: the next event, parked until one arrives; {done: true} once ended. */
  next() {
    if (this.ended) return Promise.resolve(DONE);
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift(), done: false });
    return new Promise((resolve) => { this.waiters.push(resolve); });
  }

  /** AsyncIterator.return: ends the stream and releases its connection. */
  async return() {
    await this.end();
    return DONE;
  }

  /** AsyncIterator.throw: ends the stream, then rethrows err. */
  async throw(err) {
    await this.end();
    throw err;
  }

  /** AsyncIterable: the stream is its own iterator. */
  [Symbol.asyncIterator]() {
    return this;
  }
}
