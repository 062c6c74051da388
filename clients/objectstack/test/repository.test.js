// What the contract suite does not pin: error mapping, list paging and filters, history
// paging, per-org layers, a no-op put after a foreign write.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConflictError, NotFoundError, SchemaValidationError, hashSpec } from '@objectstack/metadata-core';
import { PostgresMetadataRepository } from '../src/index.js';
import { createDatabase, dropDatabase, newPool, uniqueName } from './db.js';

let db;
let pool;
let repo;
const object = (name, label) => ({ name, label, fields: { title: { type: 'text' } } });
const create = (org, name, label = name) =>
  repo.put({ org, type: 'object', name }, object(name, label), { parentVersion: null, actor: 'u1' });

beforeAll(async () => {
  db = await createDatabase(uniqueName('os_r'));
  pool = newPool(db);
  repo = new PostgresMetadataRepository({ pool });
});
afterAll(async () => {
  await repo?.close();
  await pool?.end();
  if (db) await dropDatabase(db);
});

test('refused documents, conflicts and missing items map to ObjectStack errors', async () => {
  const ref = { org: 'acme', type: 'object', name: 'invalid' };
  // the built-in object schema requires `fields` (23514)
  const bad = repo.put(ref, { name: 'invalid' }, { parentVersion: null, actor: null });
  await expect(bad).rejects.toBeInstanceOf(SchemaValidationError);
  await expect(bad).rejects.toMatchObject({ issues: expect.any(Array) });
  await expect(repo.put(ref, { big: 10n }, { parentVersion: null, actor: null })).rejects.toBeInstanceOf(SchemaValidationError);
  await expect(repo.delete(ref, { parentVersion: null, actor: null })).rejects.toBeInstanceOf(NotFoundError);
  const a = await create('acme', 'conflicted');
  const err = await repo.put({ ...ref, name: 'conflicted' }, object('conflicted', 'x'), { parentVersion: hashSpec({}), actor: null }).catch((e) => e);
  expect(err).toBeInstanceOf(ConflictError);
  expect(err.actualHead).toBe(a.version);
});

test('orgs are separate layers; list pages by cursor and filters by org, type and name', async () => {
  for (const n of ['alpha', 'beta', 'gamma', 'delta', 'alphabet']) await create('listco', n);
  await create('otherco', 'alpha');
  await create('system', 'alpha', 'Base');
  expect((await repo.get({ org: 'system', type: 'object', name: 'alpha' })).body.label).toBe('Base');
  expect((await repo.get({ org: 'listco', type: 'object', name: 'alpha' })).body.label).toBe('alpha');
  const names = [];
  let cursor;
  do {
    const page = await repo.listPage({ org: 'listco', limit: 2, cursor });
    expect(page.items.length).toBeLessThanOrEqual(2);
    names.push(...page.items.map((h) => h.ref.name));
    cursor = page.cursor;
  } while (cursor);
  expect(names).toEqual(['alpha', 'alphabet', 'beta', 'delta', 'gamma']);
  const alphas = [];
  for await (const h of repo.list({ nameContains: 'alpha', type: 'object' })) alphas.push(`${h.ref.org}/${h.ref.name}`);
  // without org: every org the login may read (a role under row level security: the global space)
  const bypass = (await pool.query('SELECT rolsuper OR rolbypassrls AS b FROM pg_roles WHERE rolname = current_user')).rows[0].b;
  expect(alphas.filter((x) => /^(listco|otherco|system)\//.test(x))).toEqual(bypass
    ? ['system/alpha', 'listco/alpha', 'otherco/alpha', 'listco/alphabet'] // (type, name, tenant; system first)
    : ['system/alpha']);
  const none = [];
  for await (const h of repo.list({ org: 'listco', nameContains: 'ALPHA' })) none.push(h);
  expect(none).toEqual([]);
});

test('history pages by sinceSeq and limit; a put equal to the head is a no-op', async () => {
  const ref = { org: 'histco', type: 'object', name: 'item' };
  let parent = null;
  const seqs = [];
  for (let i = 0; i < 5; i++) {
    const r = await repo.put(ref, object('item', `v${i}`), { parentVersion: parent, actor: 'u1', message: `change ${i}` });
    parent = r.version;
    seqs.push(r.seq);
  }
  const again = await repo.put(ref, object('item', 'v4'), { parentVersion: parent, actor: 'someone else' });
  expect(again.seq).toBe(seqs[4]);
  expect(again.item.authoredBy).toBe('u1');
  const page = [];
  for await (const e of repo.history(ref, { sinceSeq: seqs[1], limit: 2 })) page.push(e);
  expect(page.map((e) => e.seq)).toEqual([seqs[2], seqs[3]]);
  expect(page.map((e) => e.message)).toEqual(['change 2', 'change 3']);
  const old = await repo.getByHash(ref, hashSpec(object('item', 'v1')));
  expect(old.body.label).toBe('v1');
  expect(old.seq).toBe(seqs[1]);
});
