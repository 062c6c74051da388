// PostgresMetadataRepository: ObjectStack's MetadataRepository over the extension's SQL API
// (metadata.save / get / delete / changes_since and plain SELECTs of the row level security
// protected tables). Every value is a parameter; every statement sets the caller's context
// for its own transaction only.
import { NotFoundError, mapWriteError, specText } from './errors.js';
import { layerOf, toEvent, toHeader, toItem } from './rows.js';
import { BY_HASH, GET, HEAD, HISTORY, LIST, SAVE, VERSION, layerWhere } from './queries.js';
import { contextParams, queryRows } from './sql.js';
import { ALL_TENANTS } from './feed.js';
import { WatchStream } from './watch.js';

const PAGE = 500;

const encodeCursor = (row) => Buffer.from(JSON.stringify([row.type, row.name, row.org_key])).toString('base64url');
function decodeCursor(cursor) {
  if (!cursor) return [null, null, null];
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // fall through
  }
  throw new TypeError('invalid list cursor');
}

/**
 * ObjectStack `MetadataRepository` (ADR-0008 §2.6) stored in the PostgreSQL extension
 * `metadata`. Org `system` is the global base (scope system); any other org is that
 * tenant's platform layer (`metadata.tenant_id` = org). Events are the extension's change
 * feed: `seq` is its global, dense, commit-ordered position (so it is monotonic per org).
 */
export class PostgresMetadataRepository {
  /**
   * @param {object} o
   * @param {import('pg').Pool} o.pool node-postgres Pool; watch() takes one dedicated connection per live iterator
   * @param {{minMs?: number, maxMs?: number}} [o.reconnect] backoff of watch() after a lost connection
   * @param {string} [o.watchTenant] the tenant a watch() without `filter.org` follows (system
   *   changes and that tenant's); default: every tenant the login may read, which is every
   *   tenant for a role that bypasses row level security and the global space for the others
   */
  constructor({ pool, reconnect, watchTenant } = {}) {
    if (!pool) throw new TypeError('PostgresMetadataRepository: pool is required');
    this.pool = pool;
    this.reconnect = reconnect;
    this.watchTenant = watchTenant ?? ALL_TENANTS;
    this.streams = new Set();
    this.starting = new Set();
  }

  /**
   * MetadataRepository.get: the live layer of `ref` (null when absent or deleted); with
   * `ref.version`, that version (as getByHash).
   * @param {import('@objectstack/metadata-core').MetaRef} ref
   * @returns {Promise<import('@objectstack/metadata-core').MetadataItem|null>}
   */
  async get(ref) {
    if (ref.version) return this.getByHash(ref, ref.version);
    const { scope, tenantId } = layerOf(ref);
    const [row] = await queryRows(this.pool, { tenantId }, GET, [ref.type, ref.name, scope]);
    return row ? toItem(ref, row) : null;
  }

  /**
   * MetadataRepository.getByHash: the version of `ref`'s layer whose checksum is `hash`,
   * searched in its history (not only the head); null when no version has it.
   * @param {import('@objectstack/metadata-core').MetaRef} ref
   * @param {string} hash `sha256:<64 hex>`
   */
  async getByHash(ref, hash) {
    const { scope, tenantId } = layerOf(ref);
    const [row] = await queryRows(this.pool, { tenantId }, BY_HASH[scope], [tenantId, ref.type, ref.name, hash]);
    return row ? toItem(ref, row) : null;
  }

  /**
   * MetadataRepository.put: writes `spec` (as `JSON.stringify` serialises it) as the new
   * version of `ref`'s layer with `metadata.save(..., expected_checksum => parentVersion)`.
   * Writing what is stored changes nothing and returns the current version and seq.
   * @param {import('@objectstack/metadata-core').MetaRef} ref
   * @param {unknown} spec a JSON object (toJSON honoured)
   * @param {import('@objectstack/metadata-core').PutOptions} opts parentVersion null = must not exist
   * @returns {Promise<import('@objectstack/metadata-core').PutResult>}
   * @throws {ConflictError} parentVersion is not the head (40001)
   * @throws {SchemaValidationError} the extension refuses the document (23514, 22023, 54000, 54001)
   */
  async put(ref, spec, opts = {}) {
    const { scope, tenantId } = layerOf(ref);
    const text = specText(ref, spec);
    const parent = opts.parentVersion ?? null;
    await this.ready();
    const ctx = { tenantId, userId: opts.actor };
    let saved;
    try {
      [saved] = await queryRows(this.pool, ctx, SAVE,
        [ref.type, ref.name, text, scope, parent, opts.message ?? null, opts.packageId ?? null]);
    } catch (err) {
      throw await mapWriteError(err, ref, parent, () => this.head(ref));
    }
    const [row] = await queryRows(this.pool, ctx, VERSION, [saved.id, saved.version]);
    const item = toItem(ref, row);
    // written by this call (not a no-op): the actor as given (null stays null; the history
    // records the database role for it)
    if (row.txid === saved.xid) item.authoredBy = opts.actor ?? null;
    return { version: item.hash, seq: item.seq, item };
  }

  /**
   * MetadataRepository.delete: archives `ref`'s layer (`metadata.delete`); history keeps it.
   * @param {import('@objectstack/metadata-core').MetaRef} ref
   * @param {import('@objectstack/metadata-core').DeleteOptions} opts
   * @returns {Promise<import('@objectstack/metadata-core').DeleteResult>} the seq of the delete
   * @throws {ConflictError} parentVersion is not the head (40001)
   * @throws {NotFoundError} no live layer
   */
  async delete(ref, opts = {}) {
    const { scope, tenantId } = layerOf(ref);
    const parent = opts.parentVersion ?? null;
    await this.ready();
    const client = await this.pool.connect();
    let deleted;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_catalog.set_config('metadata.tenant_id', $1, true),
                                 pg_catalog.set_config('metadata.user_id', $2, true)`,
      contextParams(tenantId, opts.actor));
      const res = await client.query(`SELECT metadata.delete($1, $2, scope => $3, expected_checksum => $4) AS ok`,
        [ref.type, ref.name, scope, parent]);
      if (res.rows[0].ok) {
        // this transaction's own change: the only unnumbered history row of the layer it can see
        const own = await client.query(`SELECT h.item_id, h.version FROM metadata.sys_metadata_history h
          WHERE ${layerWhere('h', scope)} AND h.type = $1 AND h.name = $2 AND h.op = 'delete' AND h.seq IS NULL`,
        [ref.type, ref.name, tenantId]);
        deleted = own.rows[0];
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      throw await mapWriteError(err, ref, parent, () => this.head(ref));
    }
    client.release();
    if (!deleted) throw new NotFoundError(ref);
    const [row] = await queryRows(this.pool, { tenantId }, VERSION, [deleted.item_id, deleted.version]);
    return { seq: Number(row.seq) };
  }

  /**
   * One page of list(): headers in (type, name, org) order and the cursor of the next page
   * (null when this is the last).
   * @param {import('@objectstack/metadata-core').ListFilter} filter
   * @returns {Promise<{items: import('@objectstack/metadata-core').MetadataItemHeader[], cursor: string|null}>}
   */
  async listPage(filter = {}) {
    const limit = Math.max(1, Math.min(filter.limit ?? PAGE, 10000));
    const which = filter.org === undefined ? 'any' : filter.org === 'system' ? 'system' : 'platform';
    const tenantId = which === 'platform' ? filter.org : null;
    const [ct, cn, co] = decodeCursor(filter.cursor);
    const rows = await queryRows(this.pool, { tenantId }, LIST[which],
      [tenantId, filter.type ?? null, filter.nameContains ?? null, ct, cn, co, limit]);
    const items = rows.map((r) => toHeader({ org: r.scope === 'system' ? 'system' : r.tenant_id, type: r.type, name: r.name }, r));
    return { items, cursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]) : null };
  }

  /**
   * MetadataRepository.list: live items matching the filter as headers (no body), in
   * (type, name, org) order, keyset-paged; `nameContains` is a case-sensitive substring;
   * `limit` caps the number yielded; `cursor` resumes after a listPage() cursor.
   * @param {import('@objectstack/metadata-core').ListFilter} filter
   * @returns {AsyncIterable<import('@objectstack/metadata-core').MetadataItemHeader>}
   */
  async *list(filter = {}) {
    let left = filter.limit ?? Infinity;
    let cursor = filter.cursor;
    while (left > 0) {
      const page = await this.listPage({ ...filter, cursor, limit: Math.min(left, PAGE) });
      for (const h of page.items) yield h;
      left -= page.items.length;
      if (!page.cursor) return;
      cursor = page.cursor;
    }
  }

  /**
   * MetadataRepository.history: the changes of `ref`'s layer in ascending seq (ops create,
   * update, delete, publish, revert as stored; a delete has hash null and the deleted
   * version as parentHash).
   * @param {import('@objectstack/metadata-core').MetaRef} ref
   * @param {import('@objectstack/metadata-core').HistoryOptions} [opts] sinceSeq exclusive, limit
   * @returns {AsyncIterable<import('@objectstack/metadata-core').MetadataEvent>}
   */
  async *history(ref, opts = {}) {
    const { scope, tenantId } = layerOf(ref);
    let after = opts.sinceSeq ?? 0;
    let left = opts.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(left, PAGE);
      const rows = await queryRows(this.pool, { tenantId }, HISTORY[scope], [tenantId, ref.type, ref.name, after, n]);
      for (const row of rows) yield toEvent(row);
      left -= rows.length;
      if (rows.length < n) return;
      after = Number(rows[rows.length - 1].seq);
    }
  }

  /**
   * MetadataRepository.watch: live events of the feed matching `filter`, in seq order, each
   * seq once. With a numeric `since` every change after it is replayed first; without, it
   * starts at the current feed position (writes through this repository issued after
   * watch() returns are delivered). Survives lost connections: it reconnects with backoff
   * and replays from the last seq delivered. Without `filter.org` it follows the
   * `watchTenant` given to the constructor, else every org the login may read. Ends on
   * `return()` or close().
   * @param {import('@objectstack/metadata-core').WatchFilter} filter
   * @param {number} [since]
   * @returns {AsyncIterable<import('@objectstack/metadata-core').MetadataEvent>}
   */
  watch(filter = {}, since) {
    const stream = new WatchStream({
      pool: this.pool,
      filter,
      since,
      reconnect: this.reconnect,
      tenantId: this.watchTenant,
      onEnd: (s) => this.streams.delete(s),
    });
    this.streams.add(stream);
    const ready = stream.ready.then(() => this.starting.delete(ready));
    this.starting.add(ready);
    return stream;
  }

  /** Diagnostics: backend pids of the live watch connections. */
  listenerPids() {
    return [...this.streams].map((s) => s.follower.pid).filter((pid) => pid != null);
  }

  /**
   * Ends every live watch() iterator (a parked next() settles {done: true}; invariant 8) and
   * releases their connections. The pool is the caller's to end.
   */
  async close() {
    await Promise.all([...this.streams].map((s) => s.end()));
  }

  /**
   * Settles once every watch() started so far has fixed its start position (put and delete
   * wait for it, so a write through this repository after watch() is delivered to it).
   */
  async ready() {
    if (this.starting.size > 0) await Promise.all([...this.starting]);
  }

  /** The head hash of ref's layer, or null. */
  async head(ref) {
    const { scope, tenantId } = layerOf(ref);
    const [row] = await queryRows(this.pool, { tenantId }, HEAD, [ref.type, ref.name, scope]);
    return row?.checksum ?? null;
  }
}
