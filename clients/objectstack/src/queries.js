// The repository's SQL statements (constant text; every value is a parameter, $1/$2 the
// caller's context, see sql.js).
import { scopedRows } from './sql.js';

const HIST = `h.seq, h.op, h.checksum, h.previous_checksum, h.changed_by, h.changed_at, h.note, p.op AS prev_op`;
const PREV = `LEFT JOIN metadata.sys_metadata_history p ON p.item_id = h.item_id AND p.version = h.version - 1`;

/** The rows of a layer: `a.tenant_id` is $3 (NULL for the system scope), no owner. */
export const layerWhere = (a, scope) => (scope === 'system'
  ? `${a}.scope = 'system' AND ${a}.tenant_id IS NULL AND $3::text IS NULL AND ${a}.owner IS NULL`
  : `${a}.scope = 'platform' AND ${a}.tenant_id = $3 AND ${a}.owner IS NULL`);

const both = (build) => ({ system: build('system'), platform: build('platform') });

// $3 type, $4 name, $5 scope: the live layer with its version's history row.
export const GET = scopedRows(`SELECT g.metadata, g.checksum, g.version, ${HIST}
  FROM metadata.get($3, $4, $5) g
  LEFT JOIN metadata.sys_metadata_history h ON h.item_id = g.id AND h.version = g.version
  ${PREV} WHERE g.id IS NOT NULL`);

export const HEAD = scopedRows(`SELECT g.checksum FROM metadata.get($3, $4, $5) g WHERE g.id IS NOT NULL`);

// $3 tenant, $4 type, $5 name, $6 hash: the newest version of the layer with that checksum.
export const BY_HASH = both((scope) => scopedRows(`SELECT h.metadata, h.version, ${HIST}
  FROM metadata.sys_metadata_history h ${PREV}
  WHERE ${layerWhere('h', scope)} AND h.type = $4 AND h.name = $5 AND h.checksum = $6
    AND h.op <> 'delete' AND h.state <> 'draft' AND h.seq IS NOT NULL
  ORDER BY h.version DESC LIMIT 1`));

// $3 tenant, $4 type, $5 name, $6 after seq, $7 limit.
export const HISTORY = both((scope) => scopedRows(`SELECT h.tenant_id, h.type, h.name, h.scope, h.version, ${HIST}
  FROM metadata.sys_metadata_history h ${PREV}
  WHERE ${layerWhere('h', scope)} AND h.type = $4 AND h.name = $5 AND h.state <> 'draft'
    AND h.seq > $6
  ORDER BY h.seq LIMIT $7`, 'ORDER BY q.seq'));

// $3 type, $4 name, $5 document, $6 scope, $7 expected checksum, $8 note, $9 package id.
export const SAVE = scopedRows(`SELECT r.id, r.version, pg_catalog.pg_current_xact_id()::text AS xid FROM metadata.save($3, $4, $5::jsonb, scope => $6,
  expected_checksum => $7, change_note => $8, package_id => $9) r`);

// $3 item id, $4 version: a version's history row (after its commit: with its seq).
export const VERSION = scopedRows(`SELECT h.metadata, h.txid::text AS txid, ${HIST}
  FROM metadata.sys_metadata_history h ${PREV}
  WHERE h.item_id = $3::uuid AND h.version = $4`);

// $3 tenant, $4 type, $5 name contains, $6..$8 cursor (type, name, org key), $9 limit.
const LIST_ORG = {
  system: `m.scope = 'system' AND $3::text IS NULL`,
  platform: `m.scope = 'platform' AND m.tenant_id = $3`,
  any: `$3::text IS NULL AND (m.scope = 'system' OR (m.scope = 'platform' AND m.tenant_id IS NOT NULL))`,
};
export const LIST = Object.fromEntries(Object.entries(LIST_ORG).map(([k, org]) => [k, scopedRows(`
  SELECT m.tenant_id, m.scope, m.type, m.name, m.checksum, coalesce(m.tenant_id, '') AS org_key, ${HIST}
  FROM metadata.sys_metadata m
  LEFT JOIN metadata.sys_metadata_history h ON h.item_id = m.id AND h.version = m.version
  ${PREV}
  WHERE ${org} AND m.owner IS NULL AND m.state IN ('active', 'deprecated')
    AND ($4::text IS NULL OR m.type = $4)
    AND ($5::text IS NULL OR strpos(m.name, $5) > 0)
    AND ($6::text IS NULL OR (m.type, m.name::text, coalesce(m.tenant_id, '')) > ($6, $7::text, $8::text))
  ORDER BY m.type, m.name, coalesce(m.tenant_id, '')
  LIMIT $9`, 'ORDER BY q.type, q.name, q.org_key')]));
