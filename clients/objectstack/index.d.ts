// Types of @metadata-pg/objectstack (hand-written; the sources are plain JavaScript).
import type {
  DeleteOptions,
  DeleteResult,
  HistoryOptions,
  ListFilter,
  MetaRef,
  MetadataEvent,
  MetadataItem,
  MetadataItemHeader,
  MetadataRepository,
  PutOptions,
  PutResult,
  WatchFilter,
} from '@objectstack/metadata-core';
import type {
  MetadataKeyedItem,
  MetadataLoadOptions,
  MetadataLoadResult,
  MetadataLoader,
  MetadataLoaderContract,
  MetadataSaveResult,
  MetadataStats,
} from '@objectstack/metadata';

/** The part of a node-postgres `Pool` (package `pg`) this package uses. */
export interface Pool {
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: any[] }>;
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
  connect(): Promise<any>;
  readonly ending?: boolean;
  readonly ended?: boolean;
}

/** Reconnect backoff of a feed follower: starts at minMs (50), doubles up to maxMs (2000). */
export interface ReconnectOptions {
  minMs?: number;
  maxMs?: number;
}

export interface PostgresMetadataRepositoryOptions {
  /** node-postgres Pool; each live watch() iterator holds one connection of it. */
  pool: Pool;
  reconnect?: ReconnectOptions;
  /**
   * The tenant a watch() without `filter.org` follows (system changes and that tenant's).
   * Default: every tenant the login may read (all for a role that bypasses row level
   * security, the global space only for the others).
   */
  watchTenant?: string;
}

/** One page of {@link PostgresMetadataRepository.listPage}. */
export interface ListPage {
  items: MetadataItemHeader[];
  /** Pass as `filter.cursor` for the next page; null on the last page. */
  cursor: string | null;
}

/**
 * `MetadataRepository` over the PostgreSQL extension `metadata`. Org `system` is the global
 * base (scope system); any other org is that tenant's platform layer.
 */
export declare class PostgresMetadataRepository implements MetadataRepository {
  constructor(options: PostgresMetadataRepositoryOptions);
  get(ref: MetaRef): Promise<MetadataItem | null>;
  getByHash(ref: MetaRef, hash: string): Promise<MetadataItem | null>;
  /** @throws ConflictError, SchemaValidationError */
  put(ref: MetaRef, spec: unknown, opts: PutOptions): Promise<PutResult>;
  /** @throws ConflictError, NotFoundError */
  delete(ref: MetaRef, opts: DeleteOptions): Promise<DeleteResult>;
  list(filter: ListFilter): AsyncIterable<MetadataItemHeader>;
  listPage(filter: ListFilter): Promise<ListPage>;
  history(ref: MetaRef, opts?: HistoryOptions): AsyncIterable<MetadataEvent>;
  watch(filter: WatchFilter, since?: number): AsyncIterable<MetadataEvent>;
  /** Settles once every watch() started so far has fixed its start position. */
  ready(): Promise<void>;
  /** Diagnostics: backend pids of the live watch connections. */
  listenerPids(): number[];
  /** Ends every live watch() iterator; the pool stays open. */
  close(): Promise<void>;
}

export interface PostgresMetadataLoaderOptions {
  pool: Pool;
  /** metadata.tenant_id; null or omitted: the global space. */
  tenantId?: string | null;
  /** metadata.user_id; null or omitted: no user layer. */
  userId?: string | null;
  /** In-process cache of effective documents, invalidated by the change feed (default true). */
  cache?: boolean;
  /** Contract name (default `postgres-metadata`). */
  name?: string;
  reconnect?: ReconnectOptions;
}

export interface LoaderCacheStats {
  enabled: boolean;
  /** The follower is connected and caught up: results are being cached. */
  caching: boolean;
  entries: number;
  hits: number;
  misses: number;
}

/** `MetadataLoader` (datasource:, read + write) serving effective documents of one tenant and user. */
export declare class PostgresMetadataLoader implements MetadataLoader {
  constructor(options: PostgresMetadataLoaderOptions);
  readonly contract: MetadataLoaderContract;
  load(type: string, name: string, options?: MetadataLoadOptions): Promise<MetadataLoadResult>;
  loadMany<T = any>(type: string, options?: MetadataLoadOptions): Promise<T[]>;
  loadManyKeyed<T = any>(type: string, options?: MetadataLoadOptions): Promise<MetadataKeyedItem<T>[]>;
  exists(type: string, name: string): Promise<boolean>;
  stat(type: string, name: string): Promise<MetadataStats | null>;
  list(type: string): Promise<string[]>;
  save(type: string, name: string, data: any): Promise<MetadataSaveResult>;
  delete(type: string, name: string): Promise<void>;
  cacheStats(): LoaderCacheStats;
  close(): Promise<void>;
}

/** Follow every tenant the login may read (FeedFollower's tenantId). */
export declare const ALL_TENANTS: unique symbol;

/** A row of the change feed as FeedFollower hands it on (a history row). */
export interface FeedRow {
  seq: number;
  op: 'create' | 'update' | 'delete' | 'publish' | 'revert' | 'upgrade';
  tenant_id: string | null;
  type: string;
  name: string;
  scope: 'system' | 'platform' | 'user';
  owner: string | null;
  state: string;
  version: number;
  checksum: string;
  previous_checksum: string | null;
  prev_op: string | null;
  changed_by: string;
  changed_at: string;
  note: string | null;
}

export interface FeedFollowerOptions {
  pool: Pool;
  tenantId?: string | null | typeof ALL_TENANTS;
  userId?: string | null;
  /** Replay every change after this position; omitted: start at the current position. */
  since?: number;
  onRows: (rows: FeedRow[]) => void;
  onState?: (state: 'live' | 'down' | 'closed', err?: Error) => void;
  reconnect?: ReconnectOptions;
  pageSize?: number;
}

/** LISTEN + replay follower of the change feed over one dedicated connection. */
export declare class FeedFollower {
  constructor(options: FeedFollowerOptions);
  readonly live: boolean;
  readonly last: number | undefined;
  readonly ready: Promise<void>;
  readonly pid: number | null;
  close(): Promise<void>;
}
