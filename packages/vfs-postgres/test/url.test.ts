import { randomUUID } from 'node:crypto';
import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import {
  dropPostgresUrl,
  migratePostgresUrl,
  openPostgresUrl,
  postgresBridgeSpec,
  postgresNamespaces,
  postgresStore,
  SCHEMA_VERSION,
} from '../src/index.js';
import { migrationSql } from '../src/schema.js';

const admin = new pg.Pool({ connectionString: process.env.VFS_POSTGRES_URL!, max: 2 });
admin.on('error', () => {});
/** Schemas of this file's tests (each test that needs a store of its own makes one). */
const schemas: string[] = [];
const newSchema = () => {
  const schema = `vfs_url_${randomUUID().replaceAll('-', '')}`;
  schemas.push(schema);
  return schema;
};
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const quota = expect.objectContaining({ code: 'quota-exceeded' });

/** A store URL on the test server: its connection URL plus `params` and a fresh namespace. */
function storeUrl(params: Record<string, string> = {}, namespace = `url-${randomUUID()}`): string {
  const url = new URL(process.env.VFS_POSTGRES_URL!);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  url.hash = encodeURIComponent(namespace);
  return url.href;
}

// The built package, as users import it: its bridge spec names the module the worker loads.
const built: typeof import('../src/index.js') = await import('../dist/index.js' as string);
runStoreBackendConformance({
  name: 'postgres',
  backend: built.postgresStore,
  url: (namespace, params) => storeUrl(params, namespace),
  freshUrl: (namespace) => storeUrl({ schema: newSchema() }, namespace),
});

it('opens a namespace by URL; another open of the same URL sees what was written', async () => {
  const url = storeUrl({ schema: 'vfs_url_test' });
  const a = openPostgresUrl(url);
  expect(a.namespace).toMatch(/^url-/);
  await a.mkdir('/d');
  await a.write('/d/f', bytes('hello'));
  await a.close();
  const b = await postgresStore.open(url);
  expect(text(await b.read('/d/f'))).toBe('hello');
  await b.close();
  const elsewhere = openPostgresUrl(storeUrl());
  expect(await elsewhere.exists('/d')).toBe(false);
  await elsewhere.destroy();
  await dropPostgresUrl(url);
});

it("enforces the URL's limits natively", async () => {
  const url = storeUrl({ maxBytes: '1KiB', maxFiles: '2', maxFileSize: '600', chunkSize: '512' });
  const storage = openPostgresUrl(url);
  expect(storage.limits).toEqual({ maxBytes: 1024, maxFiles: 2, maxFileSize: 600 });
  await expect(storage.write('/big', new Uint8Array(700))).rejects.toEqual(quota);
  await storage.write('/a', new Uint8Array(500));
  await storage.write('/b', new Uint8Array(500));
  await expect(storage.write('/c', new Uint8Array(1))).rejects.toEqual(quota);
  await expect(storage.append('/b', new Uint8Array(100))).rejects.toEqual(quota);
  expect((await storage.info()).chunkSize).toBe(512);
  await storage.destroy();
});

it('refuses URLs of other schemes', async () => {
  expect(postgresStore.schemes).toEqual(['postgres']);
  expect(() => openPostgresUrl('sqlite:x.db')).toThrow(/this backend opens postgres URLs, not sqlite/);
  expect(() => postgresBridgeSpec('memory:')).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
  expect(postgresBridgeSpec('postgresql://u:pw@h/db#n').options).toMatchObject({
    connectionString: 'postgresql://u:pw@h/db',
    href: 'postgresql://u:redacted@h/db#n',
  });
});

const versions = async (schema: string) =>
  (await admin.query(`SELECT version FROM "${schema}".vfs_schema ORDER BY version`)).rows.map(
    (row: { version: number }) => row.version,
  );
const schemaExists = async (schema: string) =>
  (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rows.length > 0;

it("lists the schema's namespaces with their usage rows, ignoring the URL's namespace", async () => {
  const schema = newSchema();
  for (const [ns, size] of [
    ['b', 3],
    ['a', 10],
  ] as const) {
    const s = openPostgresUrl(storeUrl({ schema }, ns));
    await s.mkdir('/d');
    await s.write('/d/f', new Uint8Array(size));
    await s.write('/g', new Uint8Array(1));
    await s.close();
  }
  // Sizes plus names: d, f, g.
  expect(await postgresStore.namespaces(storeUrl({ schema }, 'whatever'))).toEqual([
    { name: 'a', files: 2, bytes: 11 + 3 },
    { name: 'b', files: 2, bytes: 4 + 3 },
  ]);
  // A pool of one's own is used, and left open.
  const pool = new pg.Pool({ connectionString: process.env.VFS_POSTGRES_URL!, max: 1 });
  expect(await postgresNamespaces(storeUrl({ schema }), { pool })).toHaveLength(2);
  expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await pool.end();
});

it('lists nothing in a schema without eryx-vfs tables, and does not create it; a missing database is not-found', async () => {
  const schema = newSchema();
  expect(await postgresStore.namespaces(storeUrl({ schema }))).toEqual([]);
  expect(await schemaExists(schema)).toBe(false);
  const missing = new URL(process.env.VFS_POSTGRES_URL!);
  missing.pathname = '/no_such_database';
  for (const call of [
    () => postgresStore.namespaces(missing.href),
    () => postgresStore.migrate(missing.href, { dryRun: true }),
  ]) {
    await expect(call()).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringMatching(/the database does not exist/),
    });
  }
  expect(postgresStore.gc).toBeUndefined();
});

it('migrates a new schema only when not dry, reporting every step', async () => {
  const schema = newSchema();
  const url = storeUrl({ schema });
  const steps = [
    `create the schema "${schema}"`,
    'create the version table vfs_schema',
    expect.stringMatching(/^version 1: create the tables/),
    expect.stringMatching(/^version 2: add the function vfs_create/),
    expect.stringMatching(/^version 3: add the usage row/),
    expect.stringMatching(/^version 4: count names in the usage row/),
    expect.stringMatching(/^version 5: store symbolic links/),
    expect.stringMatching(/^version 6: store times set in nanoseconds/),
    expect.stringMatching(/^version 7: store hard links/),
  ];
  const dry = await migratePostgresUrl(url, { dryRun: true });
  expect(dry).toEqual({ from: null, to: SCHEMA_VERSION, steps, applied: false });
  expect(await schemaExists(schema)).toBe(false);
  expect(await postgresStore.migrate(url)).toEqual({ ...dry, applied: true });
  expect(await versions(schema)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(await postgresStore.namespaces(url)).toEqual([]);
});

it('upgrades a schema of version 2 to 7: the dry run leaves it as it was; names are listed before', async () => {
  const schema = newSchema();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.query(
    `CREATE TABLE "${schema}".vfs_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`,
  );
  for (const version of [1, 2]) {
    await admin.query(migrationSql(version - 1, schema));
    await admin.query(`INSERT INTO "${schema}".vfs_schema (version) VALUES ($1)`, [version]);
  }
  const old = openPostgresUrl(storeUrl({ schema }, 'old'), { migrate: false });
  await old.write('/f', new Uint8Array(5));
  await old.close();
  const url = storeUrl({ schema }, 'old');
  // Version 2 has no usage row: names only.
  expect(await postgresStore.namespaces(url)).toEqual([{ name: 'old' }]);
  const dry = await postgresStore.migrate(url, { dryRun: true });
  expect(dry).toEqual({
    from: 2,
    to: 7,
    steps: [
      expect.stringMatching(/^version 3: add the usage row/),
      expect.stringMatching(/^version 4: count names in the usage row/),
      expect.stringMatching(/^version 5: store symbolic links/),
      expect.stringMatching(/^version 6: store times set in nanoseconds/),
      expect.stringMatching(/^version 7: store hard links/),
    ],
    applied: false,
  });
  expect(await versions(schema)).toEqual([1, 2]);
  expect(await postgresStore.migrate(url)).toEqual({ ...dry, applied: true });
  expect(await versions(schema)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(await postgresStore.namespaces(url)).toEqual([{ name: 'old', files: 1, bytes: 5 + 1 }]);
  expect(await postgresStore.migrate(url)).toEqual({ from: 7, to: 7, steps: [], applied: false });
});

it('refuses a schema newer than it knows', async () => {
  const schema = newSchema();
  const url = storeUrl({ schema });
  await postgresStore.migrate(url);
  await admin.query(`INSERT INTO "${schema}".vfs_schema (version) VALUES ($1)`, [SCHEMA_VERSION + 1]);
  for (const call of [
    () => postgresStore.namespaces(url),
    () => postgresStore.migrate(url, { dryRun: true }),
    () => postgresStore.migrate(url),
  ]) {
    await expect(call()).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(
        `schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION}`,
      ),
    });
  }
});
