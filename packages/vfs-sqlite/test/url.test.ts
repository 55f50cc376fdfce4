import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { expect, it } from 'vitest';
import {
  dropSqliteUrl,
  listNamespaces,
  openSqliteUrl,
  sqlite,
  sqliteBridgeSpec,
  sqliteStore,
} from '../src/index.js';
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
