// @metadata-pg/objectstack: ObjectStack's MetadataRepository and MetadataLoader over the
// PostgreSQL extension `metadata`.
export { PostgresMetadataRepository } from './repository.js';
export { PostgresMetadataLoader } from './loader.js';
export { FeedFollower, ALL_TENANTS } from './feed.js';
