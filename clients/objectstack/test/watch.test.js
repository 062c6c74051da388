// watch() over a connection that dies: the listening backend is terminated, changes are
// committed by another connection while it is down, and every one of them arrives after
// the reconnect, once, in seq order.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PostgresMetadataRepository } from '../src/index.js';
import { createDatabase, dropDatabase, newPool, uniqueName, until, withClient } from './db.js';

let db;
const pools = [];
const repos = [];
const pool = () => { const p = newPool(db); pools.push(p); return p; };
const repository = (o) => { const r = new PostgresMetadataRepository({ pool: pool(), ...o }); repos.push(r); return r; };
const object = (name, label) => ({ name, label, fields: { title: { type: 'text' } } });

beforeAll(async () => { db = await createDatabase(uniqueName('os_w')); });
afterAll(async () => {
  await Promise.all(repos.map((r) => r.close()));
  await Promise.all(pools.map((p) => p.end()));
  if (db) await dropDatabase(db);
});

/** Collects what an iterator yields until it ends. */
function collect(iterable) {
  const got = [];
  const it = iterable[Symbol.asyncIterator]();
  const done = (async () => { for (;;) { const r = await it.next(); if (r.done) return; got.push(r.value); } })();
  return { got, it, done };
}

test('terminating the listening backend loses no event', async () => {
  // watch({}) follows watchTenant: system changes and acme's (not globex's)
  const repo = repository({ watchTenant: 'acme', reconnect: { minMs: 400, maxMs: 400 } });
  const writer = repository();
  const all = collect(repo.watch({}));
  const acme = collect(repo.watch({ org: 'acme', type: 'object' }));
  await until(() => repo.listenerPids().length === 2);

  const puts = [];
  const put = async (org, name, label, parent = null) => {
    const r = await writer.put({ org, type: 'object', name }, object(name, label), { parentVersion: parent, actor: 'u1' });
    if (org !== 'globex') puts.push({ org, name, seq: r.seq });
    return r;
  };
  const a = await put('acme', 'account', 'A1');
  await put('system', 'account', 'Base');
  await put('globex', 'account', 'G1');
  expect(await until(() => all.got.length === 2)).toBe(true);

  const before = repo.listenerPids();
  await withClient((c) => c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid', [before]), db);
  expect(await until(() => repo.listenerPids().length === 0)).toBe(true);

  // while both listeners are down (they retry after 400 ms)
  const b = await put('acme', 'account', 'A2', a.version);
  await put('acme', 'contact', 'C1');
  await put('globex', 'contact', 'G2');
  await put('system', 'lead', 'L1');
  const contact = await writer.get({ org: 'acme', type: 'object', name: 'contact' });
  await writer.delete({ org: 'acme', type: 'object', name: 'contact' }, { parentVersion: contact.hash, actor: 'u1' });
  await put('acme', 'account', 'A3', b.version);
  expect(repo.listenerPids()).toEqual([]);
  const seqs = puts.map((p) => p.seq);

  expect(await until(() => all.got.length === puts.length + 1, 10000)).toBe(true);
  expect(await until(() => acme.got.length === 5, 10000)).toBe(true);
  const after = repo.listenerPids();
  expect(after.length).toBe(2);
  expect(after.some((pid) => before.includes(pid))).toBe(false);

  // every change exactly once, in seq order
  const allSeqs = all.got.map((e) => e.seq);
  expect(new Set(allSeqs).size).toBe(allSeqs.length);
  expect([...allSeqs].sort((x, y) => x - y)).toEqual(allSeqs);
  for (const s of seqs) expect(allSeqs).toContain(s);
  expect(all.got.map((e) => `${e.ref.org}:${e.op}:${e.ref.name}`)).toEqual([
    'acme:create:account', 'system:create:account', 'acme:update:account', 'acme:create:contact',
    'system:create:lead', 'acme:delete:contact', 'acme:update:account']);
  expect(acme.got.map((e) => `${e.op}:${e.ref.name}`)).toEqual(['create:account', 'update:account', 'create:contact', 'delete:contact', 'update:account']);
  expect(acme.got.every((e) => e.ref.org === 'acme' && e.actor === 'u1')).toBe(true);
  const del = acme.got[3];
  expect(del.hash).toBeNull();
  expect(del.parentHash).toBe(acme.got[2].hash);
  expect(acme.got[1].parentHash).toBe(acme.got[0].hash);

  // nothing more arrives
  await new Promise((r) => setTimeout(r, 200));
  expect(all.got.length).toBe(puts.length + 1);

  await repo.close();
  await all.done;
  await acme.done;
});

test('close() ends a parked next() with done, and later next() calls too', async () => {
  const repo = repository();
  const it = repo.watch({ org: 'system' })[Symbol.asyncIterator]();
  const parked = it.next();
  await until(() => repo.listenerPids().length === 1);
  await repo.close();
  expect(await parked).toEqual({ value: undefined, done: true });
  expect(await it.next()).toEqual({ value: undefined, done: true });
  expect(repo.listenerPids()).toEqual([]);
});

test('watch(filter, since) replays across a reconnect from the last seq it delivered', async () => {
  const writer = repository();
  const first = await writer.put({ org: 'initech', type: 'object', name: 'deal' }, object('deal', 'D1'), { parentVersion: null, actor: null });
  const second = await writer.put({ org: 'initech', type: 'object', name: 'deal' }, object('deal', 'D2'), { parentVersion: first.version, actor: null });
  const repo = repository({ reconnect: { minMs: 200, maxMs: 200 } });
  const w = collect(repo.watch({ org: 'initech', name: 'deal' }, first.seq - 1));
  expect(await until(() => w.got.length === 2)).toBe(true);
  expect(w.got.map((e) => e.seq)).toEqual([first.seq, second.seq]);
  await withClient((c) => c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid', [repo.listenerPids()]), db);
  await until(() => repo.listenerPids().length === 0);
  const third = await writer.put({ org: 'initech', type: 'object', name: 'deal' }, object('deal', 'D3'), { parentVersion: second.version, actor: null });
  expect(await until(() => w.got.length === 3)).toBe(true);
  expect(w.got.map((e) => e.seq)).toEqual([first.seq, second.seq, third.seq]);
  await repo.close();
  await w.done;
});

test('watch({}) without watchTenant follows every tenant the login may read', async () => {
  const bypass = await withClient(async (c) => (await c.query(
    'SELECT rolsuper OR rolbypassrls AS b FROM pg_roles WHERE rolname = current_user')).rows[0].b, db);
  const repo = repository();
  const writer = repository();
  const w = collect(repo.watch({}));
  await repo.ready();
  const t = await writer.put({ org: 'umbrella', type: 'object', name: 'probe' }, object('probe', 'T'), { parentVersion: null, actor: null });
  const g = await writer.put({ org: 'system', type: 'object', name: 'probe' }, object('probe', 'G'), { parentVersion: null, actor: null });
  expect(await until(() => w.got.some((e) => e.seq === g.seq))).toBe(true);
  // a role under row level security reads the global space only
  expect(w.got.map((e) => e.seq)).toEqual(bypass ? [t.seq, g.seq] : [g.seq]);
  await repo.close();
  await w.done;
});
