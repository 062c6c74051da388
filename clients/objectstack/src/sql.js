// SQL helpers: every statement runs with the caller's context (metadata.tenant_id,
// metadata.user_id) set for its own transaction only, in ONE round trip, and every value
// travels as a parameter ($1 and $2 are the context; a statement's own values start at $3).

/**
 * The context row: sets both settings, transaction-local, before anything that reads them.
 * `OFFSET 0` keeps it a separate plan node, so the settings are made when its row is produced.
 */
const CONTEXT = `(SELECT pg_catalog.set_config('metadata.tenant_id', $1, true) AS t,
                         pg_catalog.set_config('metadata.user_id', $2, true) AS u OFFSET 0) s`;

/**
 * Wraps a row-returning query so it runs under the context: a subquery correlated with the
 * context row (so it is evaluated after the settings are made), its rows as one JSON array.
 * @param {string} query SQL text using $3… for its values (constant text, never values)
 * @param {string} [order] ORDER BY clause over the alias `q` for the aggregated rows
 * @returns {string}
 */
export function scopedRows(query, order = '') {
  return `SELECT (SELECT coalesce(json_agg(q ${order}), '[]'::json) FROM (${query}) q
                  WHERE s.t IS NOT NULL) AS rows FROM ${CONTEXT}`;
}

/**
 * Wraps scalar expressions (`expr AS name, …`, using $3…) so they are computed under the
 * context: the target list of the context row.
 * @param {string} exprs
 * @returns {string}
 */
export function scopedScalar(exprs) {
  return `SELECT ${exprs} FROM ${CONTEXT}`;
}

/**
 * Context parameters: null/undefined tenant or user = unset (the extension reads '' as unset).
 * @param {string|null|undefined} tenantId
 * @param {string|null|undefined} userId
 * @returns {[string, string]}
 */
export function contextParams(tenantId, userId) {
  return [tenantId ?? '', userId ?? ''];
}

/**
 * Runs a {@link scopedRows} statement and returns its rows.
 * @param {import('pg').Pool|import('pg').PoolClient} db
 * @param {{tenantId?: string|null, userId?: string|null}} ctx
 * @param {string} text a statement built by scopedRows
 * @param {unknown[]} values the statement's own values ($3…)
 * @param {string} [name] prepared statement name
 * @returns {Promise<object[]>}
 */
export async function queryRows(db, ctx, text, values, name) {
  const res = await db.query({ name, text, values: [...contextParams(ctx.tenantId, ctx.userId), ...values] });
  return res.rows[0].rows;
}

/**
 * Runs a {@link scopedScalar} statement and returns its single row.
 * @param {import('pg').Pool|import('pg').PoolClient} db
 * @param {{tenantId?: string|null, userId?: string|null}} ctx
 * @param {string} text
 * @param {unknown[]} values
 * @param {string} [name] prepared statement name
 * @returns {Promise<object>}
 */
export async function queryScalar(db, ctx, text, values, name) {
  const res = await db.query({ name, text, values: [...contextParams(ctx.tenantId, ctx.userId), ...values] });
  return res.rows[0];
}
