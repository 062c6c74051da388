// Mapping between ObjectStack's shapes and the extension's rows.
//
// Layers: org 'system' is the global base (scope system, no tenant); any other org is that
// tenant's platform layer. Global platform rows and user rows belong to no org here.

/** The org that addresses the extension's system scope. */
export const SYSTEM_ORG = 'system';

/**
 * The layer a ref addresses.
 * @param {{org: string}} ref
 * @returns {{scope: 'system'|'platform', tenantId: string|null}}
 */
export function layerOf(ref) {
  if (typeof ref?.org !== 'string' || ref.org === '') throw new TypeError('ref.org must be a non-empty string');
  return ref.org === SYSTEM_ORG ? { scope: 'system', tenantId: null } : { scope: 'platform', tenantId: ref.org };
}

/**
 * The org of a row (history or feed row), or null when the row is not the repository's.
 * @param {{scope: string, tenant_id: string|null}} row
 * @returns {string|null}
 */
export function orgOf(row) {
  if (row.scope === 'system') return SYSTEM_ORG;
  if (row.scope === 'platform' && row.tenant_id != null) return row.tenant_id;
  return null;
}

/** ISO 8601 text of a timestamp that arrived as JSON text or a Date. */
export function iso(ts) {
  return ts == null ? new Date(0).toISOString() : new Date(ts).toISOString();
}

/**
 * The hash a change was made over: null for a create and for the first version after a
 * delete (the layer did not exist then), else the previous version's checksum. A delete's
 * parent is the version it deleted (its own checksum column).
 * @param {{op: string, checksum: string, previous_checksum: string|null, prev_op?: string|null}} row
 * @returns {string|null}
 */
export function parentHashOf(row) {
  if (row.op === 'delete') return row.checksum;
  if (row.op === 'create' || row.prev_op === 'delete') return null;
  return row.previous_checksum ?? null;
}

/**
 * A MetadataEvent from a history row (columns seq, op, tenant_id, type, name, scope,
 * version, checksum, previous_checksum, prev_op, changed_by, changed_at, note).
 * @returns {import('@objectstack/metadata-core').MetadataEvent}
 */
export function toEvent(row) {
  const evt = {
    seq: Number(row.seq),
    op: row.op,
    ref: { org: orgOf(row), type: row.type, name: row.name },
    hash: row.op === 'delete' ? null : row.checksum,
    parentHash: parentHashOf(row),
    version: row.version,
    actor: row.changed_by ?? null,
    ts: iso(row.changed_at),
    source: 'postgres',
  };
  if (row.note != null) evt.message = row.note;
  return evt;
}

/**
 * A MetadataItemHeader (no body) from a row carrying the history columns of its version.
 * @param {{org: string, type: string, name: string}} ref
 */
export function toHeader(ref, row) {
  const header = {
    ref: { org: ref.org, type: ref.type, name: ref.name },
    hash: row.checksum,
    parentHash: parentHashOf(row),
    authoredBy: row.changed_by ?? null,
    authoredAt: iso(row.changed_at),
    seq: row.seq == null ? 0 : Number(row.seq),
  };
  if (row.note != null) header.message = row.note;
  return header;
}

/** A MetadataItem: the header plus the stored document. */
export function toItem(ref, row) {
  return { ...toHeader(ref, row), body: row.metadata };
}
