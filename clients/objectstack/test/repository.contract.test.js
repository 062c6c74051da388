// ObjectStack's shared MetadataRepository contract suite, with no declared divergences.
// Each factory call gets an empty store: a fresh database cloned from a template.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { runRepositoryContractTests } from '@objectstack/metadata-core/testing';
import { PostgresMetadataRepository } from '../src/index.js';
import { TEMPLATE, createDatabase, dropDatabase, newPool, uniqueName, withClient } from './db.js';

// The suite's fixture documents ({label, columns}) are not views or objects by the
// extension's built-in schemas (those require `name`), and the suite is about storage
// semantics, not type schemas: its two fixture types are registered without validation.
const template = uniqueName('os_ctpl');
const live = [];

beforeAll(async () => {
  await createDatabase(template, TEMPLATE);
  await withClient(async (c) => {
    for (const type of ['view', 'object']) {
      await c.query(`SELECT metadata.register_type($1, validation_mode => 'off')`, [type]);
    }
  }, template);
});

afterEach(async () => {
  for (const { repo, pool, db } of live.splice(0)) {
    await repo.close();
    await pool.end();
    await dropDatabase(db);
  }
});

afterAll(() => dropDatabase(template));

runRepositoryContractTests('PostgresMetadataRepository', async () => {
  const db = await createDatabase(uniqueName('os_t'), template);
  const pool = newPool(db);
  const repo = new PostgresMetadataRepository({ pool });
  live.push({ repo, pool, db });
  return repo;
}, { supportsVersionedReads: true });
