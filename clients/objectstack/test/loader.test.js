// PostgresMetadataLoader under ObjectStack's MetadataManager: items registered through the
// manager, tenant overlays written with plain SQL, effective documents read back per
// tenant and user (the extension merges; the test only compares), list, unregister, and a
// change made by another connection reaching the loader's cache and the manager's watch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MetadataManager } from '@objectstack/metadata';
import { PostgresMetadataLoader, PostgresMetadataRepository } from '../src/index.js';
import { createDatabase, dropDatabase, newPool, uniqueName, until } from './db.js';

/** HotCRM documents when METADATA_CORPUS is set, else a few literal ones. */
function documents() {
  const corpus = process.env.METADATA_CORPUS;
  if (corpus) {
    const bundle = JSON.parse(readFileSync(join(corpus, 'hotcrm', 'bundle.json'), 'utf8'));
    const want = ['object/account', 'object/contact', 'object/opportunity', 'object/lead', 'view/all_accounts'];
    return bundle.items.filter((i) => want.includes(`${i.type}/${i.name}`)).map((i) => ({ type: i.type, name: i.name, data: i.metadata }));
  }
  const obj = (name, label, fields) => ({ type: 'object', name, data: { name, label, fields } });
  return [
    obj('account', 'Account', { name: { type: 'text', label: 'Name' }, industry: { type: 'select', options: [{ value: 'tech', label: 'Tech' }] } }),
    obj('contact', 'Contact', { email: { type: 'email' }, account: { type: 'lookup', reference: 'account' } }),
    obj('opportunity', 'Opportunity', { amount: { type: 'currency', scale: 2 } }),
    { type: 'view', name: 'all_accounts', data: { name: 'all_accounts', object: 'account', label: 'All', columns: [{ field: 'name' }] } },
  ];
}

let db;
let pool;
let sql; // another connection: plain SQL
const closers = [];
const docs = documents();
const base = (type, name) => docs.find((d) => d.type === type && d.name === name).data;

/** Writes a layer with plain SQL as tenant (and user), outside every loader. */
async function overlay(tenant, user, type, name, doc, scope = 'platform') {
  await sql.query('BEGIN');
  await sql.query(`SELECT set_config('metadata.tenant_id', $1, true), set_config('metadata.user_id', $2, true)`, [tenant, user ?? '']);
  await sql.query('SELECT metadata.save($1, $2, $3::jsonb, scope => $4)', [type, name, JSON.stringify(doc), scope]);
  await sql.query('COMMIT');
}

function manager(loaderOptions) {
  const loader = new PostgresMetadataLoader({ pool, ...loaderOptions });
  const m = new MetadataManager({ loaders: [loader] });
  closers.push(() => m.dispose(), () => loader.close());
  return { m, loader };
}

beforeAll(async () => {
  db = await createDatabase(uniqueName('os_l'));
  pool = newPool(db, 8);
  sql = new pg.Client({ database: db });
  await sql.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await sql?.end();
  await pool?.end();
  if (db) await dropDatabase(db);
});

test('effective documents per tenant and user, list, unregister, foreign changes', async () => {
  // The package's base: registered through a manager whose loader writes the global layer.
  const admin = manager({ tenantId: null, cache: false, name: 'pg-admin' }).m;
  for (const d of docs) await admin.register(d.type, d.name, d.data);

  const account = base('object', 'account');
  const firstField = Object.keys(account.fields)[0];
  await overlay('acme', null, 'object', 'account', { label: 'Customer' });
  await overlay('globex', null, 'object', 'account', { label: 'Client', fields: { [firstField]: { label: 'Globex label' } } });
  await overlay('acme', 'u42', 'object', 'account', { fields: { [firstField]: { width: 200 } } }, 'user');

  const acme = manager({ tenantId: 'acme' });
  const acmeUser = manager({ tenantId: 'acme', userId: 'u42', cache: false });
  const globex = manager({ tenantId: 'globex' });
  const initech = manager({ tenantId: 'initech', cache: false });
  await until(() => acme.loader.cacheStats().caching && globex.loader.cacheStats().caching);

  // A tenant without overlays sees the base as registered.
  expect(await initech.m.get('object', 'account')).toEqual(account);
  for (const d of docs) expect(await initech.m.get(d.type, d.name)).toEqual(d.data);

  const a = await acme.m.get('object', 'account');
  expect(a.label).toBe('Customer');
  expect(a.fields).toEqual(account.fields);

  const g = await globex.m.get('object', 'account');
  expect(g.label).toBe('Client');
  expect(g.fields[firstField].label).toBe('Globex label');
  expect(g.fields[firstField].type).toBe(account.fields[firstField].type);
  expect(Object.keys(g.fields).sort()).toEqual(Object.keys(account.fields).sort());

  const u = await acmeUser.m.get('object', 'account');
  expect(u.label).toBe('Customer');
  expect(u.fields[firstField].width).toBe(200);
  expect(u.fields[firstField].type).toBe(account.fields[firstField].type);

  // list, exists, stat
  const objectNames = docs.filter((d) => d.type === 'object').map((d) => d.name).sort();
  expect((await acme.m.list('object')).map((o) => o.name).sort()).toEqual(objectNames);
  expect((await acme.m.listNames('object')).sort()).toEqual(objectNames);
  expect(await acme.loader.exists('object', 'account')).toBe(true);
  expect(await acme.loader.exists('object', 'no_such')).toBe(false);
  const stat = await acme.loader.stat('object', 'account');
  expect(stat.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(stat.hash).not.toBe((await globex.loader.stat('object', 'account')).hash);
  expect(await acme.loader.stat('object', 'no_such')).toBeNull();

  // The cache serves repeated reads.
  const hits = acme.loader.cacheStats().hits;
  await acme.m.get('object', 'account');
  await acme.m.get('object', 'contact');
  await acme.m.get('object', 'contact');
  expect(acme.loader.cacheStats().hits).toBeGreaterThan(hits);

  // unregister: the base goes; acme's cached copy is evicted by the feed. The extension
  // refuses to delete an object other items name (23503), so take one nobody names.
  const { rows: free } = await pool.query(
    `SELECT o AS name FROM unnest($1::text[]) AS o
     WHERE NOT EXISTS (SELECT FROM metadata.dependents('object', o)) ORDER BY o LIMIT 1`, [objectNames]);
  expect(free.length).toBe(1);
  const gone = free[0].name;
  await acme.m.get('object', gone);
  await admin.unregister('object', gone);
  expect(await until(async () => (await acme.m.get('object', gone)) === undefined, 2000)).toBe(true);
  expect(await initech.m.get('object', gone)).toBeUndefined();
  expect((await acme.m.listNames('object')).sort()).toEqual(objectNames.filter((n) => n !== gone));

  // A change by another connection: the manager's watch (through the repository) and the
  // loader's cache both see it.
  const repo = new PostgresMetadataRepository({ pool, watchTenant: 'acme' });
  closers.push(() => repo.close());
  acme.m.setRepository(repo);
  const seen = [];
  acme.m.subscribe('object', (evt) => seen.push(evt));
  await until(() => repo.listenerPids().length === 1);
  await repo.ready();
  expect((await acme.m.get('object', 'account')).label).toBe('Customer'); // cached
  const t0 = performance.now();
  await overlay('acme', null, 'object', 'account', { label: 'Customer 2' });
  expect(await until(async () => (await acme.m.get('object', 'account')).label === 'Customer 2', 2000)).toBe(true);
  const latency = performance.now() - t0;
  expect(await until(() => seen.some((e) => e.name === 'account' && e.type === 'changed'), 2000)).toBe(true);
  expect((await globex.m.get('object', 'account')).label).toBe('Client');
  console.log(`foreign change visible through the acme cache after ${latency.toFixed(1)} ms`);
});
