// Benchmark of the ObjectStack client (clients/objectstack):
//   1. MetadataManager.get() requests/s at 1 and 8 concurrent callers, through
//      PostgresMetadataLoader (effective document of a 3-layer item: system base, acme's
//      platform overlay, u42's user overlay) with its cache off and on, against
//      ObjectStack's own DatabaseLoader over @objectstack/driver-sql (Knex on pg, same
//      cluster, the same effective document stored as its row) with its cache off and on;
//   2. latency from put() in this process to the watch() event in another process.
// Usage: PGHOST=… PGPORT=… [PGUSER=postgres] [METADATA_CORPUS=../../../shared/corpus]
//        [BENCH_SECONDS=3] node bench.mjs      (after npm ci here and in clients/objectstack)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DatabaseLoader, MetadataManager } from '@objectstack/metadata';
import { SqlDriver } from '@objectstack/driver-sql';
import { PostgresMetadataLoader, PostgresMetadataRepository } from '../../clients/objectstack/src/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PG_DB = 'os_bench_pg';
const KNEX_DB = 'os_bench_knex';
const now = () => performance.timeOrigin + performance.now();

if (process.argv[2] === '--watcher') {
  // child: follow acme's feed and report each event's arrival time
  const pool = new pg.Pool({ database: PG_DB, max: 2 });
  const repo = new PostgresMetadataRepository({ pool });
  const it = repo.watch({ org: 'acme', type: 'object', name: 'bench_probe' })[Symbol.asyncIterator]();
  await repo.ready();
  process.send({ ready: true });
  process.on('message', async (m) => { if (m.stop) { await repo.close(); await pool.end(); process.exit(0); } });
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    process.send({ seq: r.value.seq, at: now() });
  }
} else {
  await main();
}

function accountDoc() {
  const corpus = process.env.METADATA_CORPUS;
  if (corpus) {
    const bundle = JSON.parse(readFileSync(join(corpus, 'hotcrm', 'bundle.json'), 'utf8'));
    return { doc: bundle.items.find((i) => i.type === 'object' && i.name === 'account').metadata, all: bundle.items };
  }
  const fields = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field_${i}`, { type: 'text', label: `Field ${i}`, maxLength: 255 }]));
  return { doc: { name: 'account', label: 'Account', fields }, all: [] };
}

async function admin(sql, values = []) {
  const c = new pg.Client({ database: 'postgres' });
  await c.connect();
  try { return await c.query(sql, values); } finally { await c.end(); }
}

async function freshDatabase(name) {
  await admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
}

/** Runs `callers` loops of `fn` for SECONDS (after a short warm-up); returns requests/s. */
async function rate(fn, callers) {
  const run = async (ms) => {
    let n = 0;
    const end = performance.now() + ms;
    await Promise.all(Array.from({ length: callers }, async () => {
      while (performance.now() < end) { await fn(); n++; }
    }));
    return n / (ms / 1000);
  };
  await run(300);
  return run(SECONDS * 1000);
}

async function main() {
  const { doc, all } = accountDoc();
  const firstField = Object.keys(doc.fields)[0];

  // Ours: 3 layers in the extension.
  await freshDatabase(PG_DB);
  const pool = new pg.Pool({ database: PG_DB, max: 10 });
  await pool.query('CREATE EXTENSION metadata');
  const c = await pool.connect();
  await c.query('BEGIN');
  for (const item of all.filter((i) => i.type === 'object')) {
    await c.query(`SELECT metadata.save($1, $2, $3::jsonb, scope => 'system')`, [item.type, item.name, JSON.stringify(item.metadata)]);
  }
  await c.query(`SELECT metadata.save('object', 'account', $1::jsonb, scope => 'system')`, [JSON.stringify(doc)]);
  await c.query(`SELECT set_config('metadata.tenant_id', 'acme', true), set_config('metadata.user_id', 'u42', true)`);
  await c.query(`SELECT metadata.save('object', 'account', $1::jsonb)`,
    [JSON.stringify({ label: 'Customer', fields: { [firstField]: { label: 'Acme label' } } })]);
  await c.query(`SELECT metadata.save('object', 'account', $1::jsonb, scope => 'user')`,
    [JSON.stringify({ fields: { [firstField]: { width: 200 } } })]);
  await c.query('COMMIT');
  c.release();
  const probe = new PostgresMetadataLoader({ pool, tenantId: 'acme', userId: 'u42', cache: false });
  const effective = (await probe.load('object', 'account')).data;
  await probe.close();

  // ObjectStack's: the same effective document as acme's row of its sys_metadata.
  await freshDatabase(KNEX_DB);
  const knexConfig = {
    client: 'pg',
    connection: { host: process.env.PGHOST, port: Number(process.env.PGPORT ?? 5432), user: process.env.PGUSER ?? 'postgres', database: KNEX_DB },
    pool: { min: 0, max: 10 },
  };
  const driver = new SqlDriver(knexConfig);
  await driver.connect();
  const seed = new DatabaseLoader({ driver, organizationId: 'acme', cache: { enabled: false } });
  await seed.save('object', 'account', effective);

  const results = {};
  const cases = [
    ['pg loader, cache off', () => new PostgresMetadataLoader({ pool, tenantId: 'acme', userId: 'u42', cache: false })],
    ['pg loader, cache on', () => new PostgresMetadataLoader({ pool, tenantId: 'acme', userId: 'u42', cache: true })],
    ['DatabaseLoader (driver-sql), cache off', () => new DatabaseLoader({ driver, organizationId: 'acme', cache: { enabled: false } })],
    ['DatabaseLoader (driver-sql), cache on', () => new DatabaseLoader({ driver, organizationId: 'acme', cache: { enabled: true } })],
  ];
  for (const [label, make] of cases) {
    const loader = make();
    const m = new MetadataManager({ loaders: [loader] });
    const got = await m.get('object', 'account');
    if (JSON.stringify(Object.keys(got).sort()) !== JSON.stringify(Object.keys(effective).sort()) || got.label !== 'Customer') {
      throw new Error(`${label}: unexpected document`);
    }
    if (loader.cacheStats) { for (let i = 0; i < 200 && !loader.cacheStats().caching; i++) await new Promise((r) => setTimeout(r, 10)); }
    results[label] = {};
    for (const callers of [1, 8]) results[label][callers] = await rate(() => m.get('object', 'account'), callers);
    await m.dispose();
    await loader.close?.();
  }

  console.log(`MetadataManager.get('object', 'account'): effective document of ${JSON.stringify(effective).length} bytes, ${SECONDS} s per case`);
  console.log('| loader | 1 caller req/s | 8 callers req/s |');
  console.log('|---|---:|---:|');
  for (const [label, r] of Object.entries(results)) console.log(`| ${label} | ${r[1].toFixed(0)} | ${r[8].toFixed(0)} |`);
  const R = (a, b, n) => (results[a][n] / results[b][n]).toFixed(2);
  for (const n of [1, 8]) {
    console.log(`ratios at ${n} caller(s): pg/DatabaseLoader cache off ${R('pg loader, cache off', 'DatabaseLoader (driver-sql), cache off', n)}, ` +
      `cache on ${R('pg loader, cache on', 'DatabaseLoader (driver-sql), cache on', n)}; ` +
      `pg cache on/off ${R('pg loader, cache on', 'pg loader, cache off', n)}`);
  }

  // put() here -> watch() event in another process
  const child = fork(new URL(import.meta.url).pathname, ['--watcher'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const arrivals = new Map();
  const waiters = new Map();
  await new Promise((resolve) => child.on('message', (m) => {
    if (m.ready) resolve();
    if (m.seq) { arrivals.set(m.seq, m.at); waiters.get(m.seq)?.(); }
  }));
  const repo = new PostgresMetadataRepository({ pool });
  const ref = { org: 'acme', type: 'object', name: 'bench_probe' };
  let parent = null;
  const fromCall = [];
  const fromCommit = [];
  const N = Number(process.env.BENCH_PUTS ?? 300);
  for (let i = 0; i < N + 20; i++) {
    const t0 = now();
    const r = await repo.put(ref, { name: 'bench_probe', label: `probe ${i}`, fields: { title: { type: 'text' } } }, { parentVersion: parent, actor: 'bench' });
    const t1 = now();
    parent = r.version;
    if (!arrivals.has(r.seq)) await new Promise((resolve) => waiters.set(r.seq, resolve));
    if (i >= 20) { fromCall.push(arrivals.get(r.seq) - t0); fromCommit.push(arrivals.get(r.seq) - t1); }
  }
  child.send({ stop: true });
  const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  console.log(`put() -> watch() event in another process, ${N} puts: from the put call p50 ${pct(fromCall, 0.5).toFixed(2)} ms, ` +
    `p99 ${pct(fromCall, 0.99).toFixed(2)} ms; from put() returning (after its seq read) p50 ${pct(fromCommit, 0.5).toFixed(2)} ms, p99 ${pct(fromCommit, 0.99).toFixed(2)} ms`);

  await repo.close();
  await driver.disconnect();
  await pool.end();
  await admin(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
  await admin(`DROP DATABASE IF EXISTS ${KNEX_DB} WITH (FORCE)`);
}
