import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import { expect, inject, it } from 'vitest';
import { dropS3Url, openS3Url, type S3Storage, s3, s3BridgeSpec, s3Store } from '../src/index.js';
import { newClient, randomPrefix, rawKeys } from './helpers.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const quota = expect.objectContaining({ code: 'quota-exceeded' });

/** A store URL on the test server, credentials in the userinfo, the namespace in the fragment. */
function storeUrl(prefix: string, namespace: string, params: Record<string, string> = {}): string {
  const server = inject('s3');
  const query = new URLSearchParams({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: 'true',
    ...params,
  });
  const user = `${encodeURIComponent(server.accessKeyId)}:${encodeURIComponent(server.secretAccessKey)}`;
  return `s3://${user}@${server.bucket}/${prefix}?${query}#${encodeURIComponent(namespace)}`;
}

// The built package, as users import it: its bridge spec names the module the worker loads.
const built: typeof import('../src/index.js') = await import('../dist/index.js' as string);
runStoreBackendConformance({
  name: 's3',
  backend: built.s3Store,
  url: (namespace, params) => storeUrl(randomPrefix('kit'), namespace, params),
});

it('opens the filesystem under prefix/namespace; another open of the same URL sees what was written', async () => {
  const prefix = randomPrefix('url');
  const url = storeUrl(prefix, 'user-42');
  const a = (await openS3Url(url)) as S3Storage;
  expect(a.prefix).toBe(`${prefix}/user-42/`);
  await a.mkdir('/d');
  await a.write('/d/f', bytes('hello'));
  await a.close();
  const b = await s3Store.open(url);
  expect(text(await b.read('/d/f'))).toBe('hello');
  await b.close();
  const sibling = await openS3Url(storeUrl(prefix, 'user-43'));
  expect(await sibling.list('/')).toEqual([]);
  await sibling.close();
  await dropS3Url(url);
});

it("enforces the URL's limits through core's limits wrapper", async () => {
  const url = storeUrl(randomPrefix('url'), 'n', { maxBytes: '1KiB', maxFiles: '2', maxFileSize: '600' });
  const storage = await openS3Url(url);
  expect(storage.limits).toEqual({
    maxBytes: 1024,
    maxFiles: 2,
    maxFileSize: 600,
    maxPathLength: expect.any(Number),
  });
  await expect(storage.write('/big', new Uint8Array(700))).rejects.toEqual(quota);
  await storage.write('/a', new Uint8Array(500));
  await storage.write('/b', new Uint8Array(500));
  await expect(storage.write('/c', new Uint8Array(1))).rejects.toEqual(quota);
  await expect(storage.append('/b', new Uint8Array(100))).rejects.toEqual(quota);
  await storage.close();
  await dropS3Url(url);
});

it('drops every object of the namespace and nothing else; a new open sees an empty store', async () => {
  const prefix = randomPrefix('url');
  const [url, keep] = [storeUrl(prefix, 'gone'), storeUrl(prefix, 'kept')];
  for (const u of [url, keep]) {
    const s = await openS3Url(u);
    await s.mkdir('/d');
    await s.write('/d/f', new Uint8Array(200_000)); // past the inline threshold: chunk objects too
    await s.close();
  }
  const client = newClient();
  expect((await rawKeys(client, `${prefix}/gone/`)).length).toBeGreaterThan(0);
  await s3Store.drop(url);
  expect(await rawKeys(client, `${prefix}/gone/`)).toEqual([]);
  expect((await rawKeys(client, `${prefix}/kept/`)).length).toBeGreaterThan(0);
  const again = await openS3Url(url);
  expect(await again.list('/')).toEqual([]);
  await again.close();
  const kept = await openS3Url(keep);
  expect((await kept.stat('/d/f')).size).toBe(200_000);
  await kept.close();
  await Promise.all([dropS3Url(url), dropS3Url(keep)]);
  expect(await rawKeys(client, `${prefix}/`)).toEqual([]);
  client.destroy();
});

it('refuses to drop a whole bucket', async () => {
  const server = inject('s3');
  await expect(dropS3Url(`s3://${server.bucket}?endpoint=${server.endpoint}`)).rejects.toThrow(
    /would empty the whole bucket/,
  );
});

it('refuses URLs of other schemes', async () => {
  expect(s3Store.schemes).toEqual(['s3']);
  await expect(openS3Url('sqlite:x.db')).rejects.toThrow(/this backend opens s3 URLs, not sqlite/);
  expect(() => s3BridgeSpec('memory:')).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
  expect(s3BridgeSpec('s3://K:S@b/p#n').options).toMatchObject({ href: 's3://K:redacted@b/p#n' });
});

it('takes limits as an option, like every backend, and keeps its own members', async () => {
  const server = inject('s3');
  const prefix = randomPrefix('limits');
  const storage = s3({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    bucket: server.bucket,
    prefix: `${prefix}/`,
    limits: { maxFiles: 1 },
  });
  expect(storage.limits).toEqual({ maxFiles: 1, maxPathLength: expect.any(Number) });
  expect(typeof storage.gc).toBe('function');
  expect(storage.prefix).toBe(`${prefix}/`);
  await storage.write('/a', bytes('1'));
  await expect(storage.write('/b', bytes('2'))).rejects.toEqual(quota);
  expect(await storage.exists('/b')).toBe(false);
  await storage.close();
  await dropS3Url(storeUrl(prefix, 'unused').replace(/#.*$/, ''));
});
