import { randomUUID } from 'node:crypto';
import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import { expect, it } from 'vitest';
import { dropPostgresUrl, openPostgresUrl, postgresBridgeSpec, postgresStore } from '../src/index.js';

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
