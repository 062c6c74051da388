// PostgresMetadataLoader: ObjectStack's MetadataLoader (protocol datasource:, read and
// write) serving EFFECTIVE documents (metadata.effective: system base, platform overlays,
// the user's overlay) for one tenant and user, with an optional in-process cache kept
// coherent by the change feed.
import { FeedFollower } from './feed.js';
import { queryRows, queryScalar, scopedRows, scopedScalar } from './sql.js';

const LOAD = scopedScalar('metadata.effective($3, $4) AS doc');
const EXISTS = scopedScalar('metadata.exists($3, $4) AS found');
const STAT = `SELECT x.doc IS NOT NULL AS found, metadata.checksum(x.doc) AS hash,
  octet_length(x.doc::text) AS size FROM (${scopedScalar('metadata.effective($3, $4) AS doc')} OFFSET 0) x`;
const ALL = scopedRows('SELECT e.name, e.doc FROM metadata.effective_all($3) e', 'ORDER BY q.name');
const SAVE = scopedRows('SELECT r.checksum, r.version FROM metadata.save($3, $4, $5::jsonb) r');
const DELETE = scopedScalar('metadata.delete($3, $4) AS ok');

/**
 * ObjectStack `MetadataLoader` over the extension: `load()` returns the effective document
 * of (type, name) for the loader's tenant and user in one round trip; `save()`/`delete()`
 * write the tenant's platform layer (the global platform layer when tenantId is null).
 *
 * Cache (`cache: true`): effective documents (and misses) are kept in process while the
 * loader's feed follower is connected and caught up; a change of an item evicts every
 * cached item of its type (an `extends` child depends on its parent), a lost connection
 * clears the cache. A change committed by any connection is visible through load() within
 * the notification latency.
 */
export class PostgresMetadataLoader {
  /**
   * @param {object} o
   * @param {import('pg').Pool} o.pool node-postgres Pool (the cache's follower holds one connection)
   * @param {string|null} [o.tenantId] `metadata.tenant_id` (null: the global space)
   * @param {string|null} [o.userId] `metadata.user_id` (null: no user layer)
   * @param {boolean} [o.cache] cache effective documents (default true)
   * @param {string} [o.name] the contract name (default `postgres-metadata`)
   * @param {{minMs?: number, maxMs?: number}} [o.reconnect] backoff of the cache's follower
   */
  constructor({ pool, tenantId = null, userId = null, cache = true, name = 'postgres-metadata', reconnect } = {}) {
    if (!pool) throw new TypeError('PostgresMetadataLoader: pool is required');
    this.pool = pool;
    this.ctx = { tenantId, userId };
    /** MetadataLoader.contract */
    this.contract = {
      name,
      protocol: 'datasource:',
      description: 'PostgreSQL extension metadata: effective documents per tenant and user',
      supportedFormats: ['json'],
      supportsWatch: cache,
      supportsWrite: true,
      supportsCache: cache,
      capabilities: { read: true, write: true, watch: cache, list: true },
    };
    this.entries = cache ? new Map() : null;
    this.epoch = 0;
    this.hits = 0;
    this.misses = 0;
    this.follower = cache
      ? new FeedFollower({
        pool,
        tenantId,
        userId,
        reconnect,
        onRows: (rows) => this.evict(rows),
        onState: () => { this.epoch++; this.entries.clear(); },
      })
      : null;
  }

  /** Whether results may be cached now: the follower is connected and caught up. */
  get caching() {
    return this.follower?.live === true;
  }

  /** Drops the cached items of the changed rows' types. */
  evict(rows) {
    this.epoch++;
    if (!this.entries) return;
    const types = new Set(rows.map((r) => r.type));
    for (const key of this.entries.keys()) {
      if (types.has(key.slice(0, key.indexOf('\u0000')))) this.entries.delete(key);
    }
  }

  /**
   * MetadataLoader.load: the effective document of (type, name) for this loader's tenant
   * and user, `{data: null}` when the item does not exist for them.
   * @param {string} type
   * @param {string} name
   * @returns {Promise<import('@objectstack/spec/system').MetadataLoadResult>}
   * @throws the extension's errors (42P19 extends cycle, 23503 missing parent, …)
   */
  async load(type, name, options) {
    const started = performance.now();
    const useCache = this.entries && options?.useCache !== false && options?.cache !== false;
    const key = `${type}\u0000${name}`;
    if (useCache && this.caching && this.entries.has(key)) {
      this.hits++;
      return { data: this.entries.get(key), source: this.contract.name, fromCache: true, format: 'json', loadTime: 0 };
    }
    this.misses++;
    const epoch = this.epoch;
    const { doc } = await queryScalar(this.pool, this.ctx, LOAD, [type, name], 'metadata_pg_effective');
    if (useCache && this.caching && epoch === this.epoch) this.entries.set(key, doc);
    return { data: doc, source: this.contract.name, fromCache: false, format: 'json', loadTime: performance.now() - started };
  }

  /**
   * MetadataLoader.loadManyKeyed: every effective document of `type` with its item name.
   * @returns {Promise<{name: string, data: object}[]>}
   */
  async loadManyKeyed(type) {
    const rows = await queryRows(this.pool, this.ctx, ALL, [type]);
    return rows.map((r) => ({ name: r.name, data: r.doc }));
  }

  /** MetadataLoader.loadMany: every effective document of `type`, in name order. */
  async loadMany(type, options) {
    return (await this.loadManyKeyed(type, options)).map((r) => r.data);
  }

  /** MetadataLoader.list: the names of the items of `type` that exist for this tenant and user. */
  async list(type) {
    return (await this.loadManyKeyed(type)).map((r) => r.name);
  }

  /** MetadataLoader.exists: whether (type, name) has an effective document here. */
  async exists(type, name) {
    const { found } = await queryScalar(this.pool, this.ctx, EXISTS, [type, name]);
    return found;
  }

  /**
   * MetadataLoader.stat: checksum (hash, etag) and size in bytes of the effective document,
   * null when it does not exist.
   */
  async stat(type, name) {
    const { found, hash, size } = await queryScalar(this.pool, this.ctx, STAT, [type, name]);
    return found ? { hash, etag: hash, size: Number(size), format: 'json' } : null;
  }

  /**
   * MetadataLoader.save: writes `data` as the tenant's platform layer of (type, name)
   * (`metadata.save`, strategy merge: a patch over what is below, or the whole item).
   * @returns {Promise<import('@objectstack/spec/system').MetadataSaveResult>}
   * @throws the extension's errors (23514 schema, 42501 rights, …) as the driver raises them
   */
  async save(type, name, data) {
    const started = performance.now();
    const [row] = await queryRows(this.pool, this.ctx, SAVE, [type, name, JSON.stringify(data)]);
    this.evict([{ type }]);
    return { success: true, etag: row.checksum, saveTime: performance.now() - started };
  }

  /** MetadataLoader.delete: archives the tenant's platform layer of (type, name), if any. */
  async delete(type, name) {
    await queryScalar(this.pool, this.ctx, DELETE, [type, name]);
    this.evict([{ type }]);
  }

  /** Cache counters (entries, hits, misses, caching). */
  cacheStats() {
    return { enabled: this.entries !== null, caching: this.caching, entries: this.entries?.size ?? 0, hits: this.hits, misses: this.misses };
  }

  /** Stops the cache's follower and releases its connection. */
  async close() {
    await this.follower?.close();
    this.entries?.clear();
  }
}
