import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import {
  dropSqliteUrl,
  listNamespaces,
  migrateSqliteUrl,
  openSqliteUrl,
  SCHEMA_VERSION,
  sqlite,
  sqliteBridgeSpec,
  sqliteNamespaces,
  sqliteStore,
} from '../src/index.js';
import { MIGRATIONS } from '../src/schema.js';
import { randomNamespace, tempDb } from './helpers.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const quota = expect.objectContaining({ code: 'quota-exceeded' });

// The built package, as users import it: its bridge spec names the module the worker loads.
const built: typeof import('../src/index.js') = await import('../dist/index.js' as string);
const kitFile = tempDb();
runStoreBackendConformance({
  name: 'sqlite',
  backend: built.sqliteStore,
  url: (namespace, params) =>
    `sqlite:${kitFile}?${new URLSearchParams(params)}#${encodeURIComponent(namespace)}`,
  freshUrl: (namespace) => `sqlite:${tempDb('fresh')}#${encodeURIComponent(namespace)}`,
});

it('opens a namespace by URL; another open of the same URL sees what was written', async () => {
  const file = tempDb();
  // Relative to `cwd`, as a CLI resolves it against the working directory.
  const url = `sqlite:./${basename(file)}#${randomNamespace()}`;
  const cwd = dirname(file);
  const a = openSqliteUrl(url, { cwd });
  expect(a.db.name).toBe(file);
  await a.mkdir('/d');
  await a.write('/d/f', bytes('hello'));
  await a.close();
  const b = await sqliteStore.open(url, { cwd });
  expect(text(await b.read('/d/f'))).toBe('hello');
  expect(b.sync?.read('/d/f')).toEqual(bytes('hello'));
  const other = openSqliteUrl(`sqlite://${file}#${randomNamespace()}`);
  expect(await other.list('/')).toEqual([]);
  await Promise.all([b.close(), other.close()]);
});

it("enforces the URL's limits natively and takes its tuning parameters", async () => {
  const url = `sqlite:${tempDb()}?maxBytes=1KiB&maxFiles=2&maxFileSize=600&maxPathLength=20&chunkSize=512#n`;
  const storage = openSqliteUrl(url);
  expect(storage.limits).toEqual({ maxBytes: 1024, maxFiles: 2, maxFileSize: 600, maxPathLength: 20 });
  expect(storage.chunkSize).toBe(512);
  await expect(storage.write('/big', new Uint8Array(700))).rejects.toEqual(quota);
  await storage.write('/a', new Uint8Array(500));
  await storage.write('/b', new Uint8Array(500));
  await expect(storage.write('/c', new Uint8Array(1))).rejects.toEqual(quota);
  await expect(storage.append('/b', new Uint8Array(100))).rejects.toEqual(quota);
  await expect(storage.mkdir('/a-name-longer-than-twenty')).rejects.toEqual(
    expect.objectContaining({ code: 'name-too-long' }),
  );
  await storage.close();
  // Options the caller passes override the URL's; the limits stay.
  const relaxed = openSqliteUrl(url, { busyTimeout: 10 });
  await expect(relaxed.write('/c', new Uint8Array(1))).rejects.toEqual(quota);
  await relaxed.close();
});

it('drops the namespace, leaving the others; a new open sees an empty store', async () => {
  const file = tempDb();
  const [keep, gone] = [randomNamespace(), randomNamespace()];
  for (const ns of [keep, gone]) {
    const s = openSqliteUrl(`sqlite:${file}#${ns}`);
    await s.write('/f', bytes(ns));
    await s.close();
  }
  await sqliteStore.drop(`sqlite:${file}#${gone}`);
  const again = openSqliteUrl(`sqlite:${file}#${gone}`);
  expect(await again.list('/')).toEqual([]);
  expect(listNamespaces(again.db)).toContain(keep);
  await again.close();
  const kept = openSqliteUrl(`sqlite:${file}#${keep}`);
  expect(text(await kept.read('/f'))).toBe(keep);
  await kept.close();
  // Dropping what is not there neither fails nor creates the file.
  const missing = tempDb();
  await dropSqliteUrl(`sqlite:${missing}#x`);
  expect(existsSync(missing)).toBe(false);
});

it('serves the sync bridge from its spec, resolving the path before the worker', async () => {
  const file = tempDb();
  const url = `sqlite:./${basename(file)}#${randomNamespace()}`;
  const spec = built.sqliteBridgeSpec(url, { cwd: dirname(file) });
  expect(spec).toMatchObject({
    module: new URL('../dist/index.js', import.meta.url).href,
    export: 'openSqliteUrl',
    options: { scheme: 'sqlite', path: file },
  });
  const bridge = createSyncBridge(spec);
  try {
    bridge.write('/f', bytes('bridged'));
    bridge.flush();
  } finally {
    bridge.close();
  }
  const direct = openSqliteUrl(url, { cwd: dirname(file) });
  expect(text(await direct.read('/f'))).toBe('bridged');
  await direct.close();
});

it('refuses URLs of other schemes', async () => {
  expect(sqliteStore.schemes).toEqual(['sqlite']);
  expect(() => openSqliteUrl('memory:')).toThrow(/this backend opens sqlite URLs, not memory/);
  expect(() => sqliteBridgeSpec('postgres://h/db')).toThrow(
    expect.objectContaining({ code: 'invalid-argument' }),
  );
  await expect(sqliteStore.drop('sqlite:x.db?readOnly=true')).rejects.toThrow(
    expect.objectContaining({ code: 'read-only' }),
  );
});

it('takes limits as an option, like every backend; limits wins over the old top-level members', async () => {
  const s = sqlite({ path: tempDb(), namespace: randomNamespace(), maxFiles: 5, limits: { maxFiles: 1 } });
  expect(s.limits).toEqual({ maxFiles: 1 });
  await s.write('/a', bytes('1'));
  await expect(s.write('/b', bytes('2'))).rejects.toEqual(quota);
  expect(await s.exists('/b')).toBe(false);
  await s.close();
});

/** A database of schema version 1 as it was released, with namespace `old` holding one 5-byte file `/f`. */
function versionOneDb(): string {
  const path = tempDb('v1');
  const db = new Database(path);
  db.exec('CREATE TABLE vfs_schema (version INTEGER NOT NULL)');
  db.exec(MIGRATIONS[0]!);
  db.prepare('INSERT INTO vfs_schema (version) VALUES (1)').run();
  db.prepare(
    "INSERT INTO vfs_namespaces (ns, chunk_size, created, files, bytes, next_ino) VALUES ('old', 4, 0, 1, 5, 3)",
  ).run();
  const entry = db.prepare('INSERT INTO vfs_entries VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0)');
  entry.run('old', '/', '', '', 'directory', 1, 0);
  entry.run('old', '/f', '/', 'f', 'file', 2, 5);
  db.close();
  return path;
}

const versions = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT version FROM vfs_schema ORDER BY version').pluck().all();
  } finally {
    db.close();
  }
};

it("lists the namespaces of the file with their usage rows, ignoring the URL's namespace", async () => {
  const file = tempDb();
  for (const [ns, size] of [
    ['b', 3],
    ['a', 10],
  ] as const) {
    const s = openSqliteUrl(`sqlite:${file}#${ns}`);
    await s.mkdir('/d');
    await s.write('/d/f', new Uint8Array(size));
    await s.write('/g', new Uint8Array(1));
    await s.close();
  }
  // Sizes and names: `d`, `f` and `g` take 3 bytes.
  const expected = [
    { name: 'a', files: 2, bytes: 14 },
    { name: 'b', files: 2, bytes: 7 },
  ];
  expect(await sqliteStore.namespaces(`sqlite:${file}#whatever`)).toEqual(expected);
  // Relative to cwd, and through a read-only URL.
  expect(await sqliteNamespaces(`sqlite:./${basename(file)}?readOnly=true`, { cwd: dirname(file) })).toEqual(
    expected,
  );
  expect(await sqliteNamespaces(`sqlite:${versionOneDb()}`)).toEqual([{ name: 'old', files: 1, bytes: 5 }]);
});

it('lists nothing for a file without eryx-vfs tables or an in-memory database; a missing file is not-found and not created', async () => {
  const empty = tempDb('empty');
  new Database(empty).close();
  expect(await sqliteNamespaces(`sqlite:${empty}`)).toEqual([]);
  expect(await sqliteNamespaces('sqlite::memory:')).toEqual([]);
  const missing = tempDb('missing');
  const error = await sqliteStore.namespaces(`sqlite:${missing}#x`).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'not-found', path: missing });
  expect((error as Error).message).toMatch(/SQLite database file does not exist/);
  expect(existsSync(missing)).toBe(false);
});

it('migrates a missing file only when not dry, reporting every step', async () => {
  const file = tempDb('new');
  const steps = [
    'create the version table vfs_schema',
    expect.stringMatching(/^version 1: create the tables/),
    expect.stringMatching(/^version 2: rebuild vfs_schema/),
    expect.stringMatching(/^version 3: recompute the usage rows/),
    expect.stringMatching(/^version 4: rebuild vfs_entries to hold symbolic links/),
    expect.stringMatching(/^version 5: add the columns modified_ns and accessed_ns/),
    expect.stringMatching(/^version 6: add the column nlink and the partial index vfs_entries_ino/),
  ];
  const dry = await migrateSqliteUrl(`sqlite:${file}#n`, { dryRun: true });
  expect(dry).toEqual({ from: null, to: SCHEMA_VERSION, steps, applied: false });
  expect(existsSync(file)).toBe(false);
  expect(await sqliteStore.migrate(`sqlite:${file}`)).toEqual({
    from: null,
    to: SCHEMA_VERSION,
    steps,
    applied: true,
  });
  expect(versions(file)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(await sqliteNamespaces(`sqlite:${file}`)).toEqual([]);
});

it('upgrades a database of version 1: the dry run leaves the version rows as they were', async () => {
  const file = versionOneDb();
  const url = `sqlite:${file}#old`;
  const dry = await sqliteStore.migrate(url, { dryRun: true });
  expect(dry).toEqual({
    from: 1,
    to: 6,
    steps: [
      expect.stringMatching(/^version 2: rebuild vfs_schema/),
      expect.stringMatching(/^version 3: recompute the usage rows/),
      expect.stringMatching(/^version 4: rebuild vfs_entries to hold symbolic links/),
      expect.stringMatching(/^version 5: add the columns modified_ns and accessed_ns/),
      expect.stringMatching(/^version 6: add the column nlink and the partial index vfs_entries_ino/),
    ],
    applied: false,
  });
  expect(versions(file)).toEqual([1]);
  // A read-only URL may look, but not migrate.
  expect(await sqliteStore.migrate(`${url}?readOnly=true`, { dryRun: true })).toEqual(dry);
  await expect(sqliteStore.migrate(`sqlite:${file}?readOnly=true`)).rejects.toMatchObject({
    code: 'read-only',
    message: expect.stringMatching(/is read-only; cannot migrate \(5 steps to do\)/),
  });
  expect(versions(file)).toEqual([1]);
  expect(await sqliteStore.migrate(url)).toEqual({ ...dry, applied: true });
  expect(versions(file)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(await sqliteStore.migrate(`sqlite:${file}?readOnly=true`)).toEqual({
    from: 6,
    to: 6,
    steps: [],
    applied: false,
  });
  const s = openSqliteUrl(url, { migrate: false });
  // Version 3 recomputed the usage row: the 5 bytes of `/f` and its 1-byte name.
  expect(await s.info()).toMatchObject({ files: 1, bytes: 6 });
  await s.close();
});

it('refuses a schema newer than it knows, and has no gc', async () => {
  const file = tempDb('newer');
  openSqliteUrl(`sqlite:${file}`)
    .db.prepare('INSERT INTO vfs_schema (version) VALUES (?)')
    .run(SCHEMA_VERSION + 1);
  for (const call of [
    () => sqliteStore.namespaces(`sqlite:${file}`),
    () => sqliteStore.migrate(`sqlite:${file}`, { dryRun: true }),
    () => sqliteStore.migrate(`sqlite:${file}`),
  ]) {
    await expect(call()).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(
        `schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION}`,
      ),
    });
  }
  expect(versions(file)).toEqual([
    ...Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    SCHEMA_VERSION + 1,
  ]);
  expect(sqliteStore.gc).toBeUndefined();
  // Not a database at all: an error, not an empty list.
  const junk = tempDb('junk');
  writeFileSync(junk, 'not a database, just some text that is long enough to have a header'.repeat(10));
  await expect(sqliteNamespaces(`sqlite:${junk}`)).rejects.toMatchObject({ code: 'io' });
});
