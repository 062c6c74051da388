// Test databases: each is created from a template database that has the extension
// (METADATA_TEMPLATE, default os_tmpl; tests/objectstack/run.sh creates it). Connection
// settings come from PGHOST / PGPORT / PGUSER, as node-postgres reads them.
import pg from 'pg';

export const TEMPLATE = process.env.METADATA_TEMPLATE || 'os_tmpl';

let counter = 0;

/** A database name no other test process uses. */
export function uniqueName(prefix) {
  return `${prefix}_${process.pid}_${++counter}`;
}

/** Runs fn with a client connected to database (default: postgres). */
export async function withClient(fn, database = 'postgres') {
  const client = new pg.Client({ database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE name TEMPLATE template (retried while another session holds the template). */
export async function createDatabase(name, template = TEMPLATE) {
  await withClient(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(template)}`);
        return;
      } catch (err) {
        // 55006: the template is being accessed by other users (a concurrent test just left it)
        if (err.code !== '55006' || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  return name;
}

/** DROP DATABASE IF EXISTS name WITH (FORCE). */
export async function dropDatabase(name) {
  await withClient((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
}

/** A pool on database that survives terminated connections. */
export function newPool(database, max = 4) {
  const pool = new pg.Pool({ database, max });
  pool.on('error', () => {}); // an idle client whose backend was terminated
  return pool;
}

/** Polls cond (sync or async) every 10 ms until it is truthy or timeoutMs passes; returns its last value. */
export async function until(cond, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}
