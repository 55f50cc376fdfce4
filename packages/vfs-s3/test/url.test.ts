import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import type { GcProgress } from '@eryx/vfs-core';
import { expect, inject, it } from 'vitest';
import {
  dropS3Url,
  gcS3Url,
  migrateS3Url,
  openS3Url,
  type S3Storage,
  s3,
  s3BridgeSpec,
  s3Namespaces,
  s3Store,
} from '../src/index.js';
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
// One prefix for the kit: its namespaces are filesystems under it, which `namespaces` lists.
const kitPrefix = randomPrefix('kit');
runStoreBackendConformance({
  name: 's3',
  backend: built.s3Store,
  url: (namespace, params) => storeUrl(kitPrefix, namespace, params),
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

/** The store URL of the prefix itself: no namespace. */
const prefixUrl = (prefix: string) => storeUrl(prefix, 'x').replace(/#.*$/, '');

it('lists the filesystems right under the prefix, and nothing else', async () => {
  const prefix = randomPrefix('ns');
  for (const ns of ['b', 'a', 'team/c']) {
    const s = await openS3Url(storeUrl(prefix, ns));
    await s.write('/f', bytes(ns));
    await s.close();
  }
  // A filesystem at the prefix itself, with a file named like a root entry: its objects are not namespaces.
  const own = await openS3Url(prefixUrl(prefix));
  await own.write('/root', bytes('not a namespace'));
  await own.close();
  const client = newClient();
  await client.send(
    new PutObjectCommand({
      Bucket: inject('s3').bucket,
      Key: `${prefix}/other/readme.txt`,
      Body: 'unrelated',
    }),
  );
  client.destroy();
  // team/c is one level deeper: listed under prefix/team.
  const expected = [{ name: 'a' }, { name: 'b' }];
  expect(await s3Store.namespaces(storeUrl(prefix, 'ignored'))).toEqual(expected);
  expect(await s3Namespaces(prefixUrl(prefix))).toEqual(expected);
  expect(await s3Namespaces(prefixUrl(`${prefix}/team`))).toEqual([{ name: 'c' }]);
  expect(await s3Namespaces(prefixUrl(randomPrefix('empty')))).toEqual([]);
  await dropS3Url(prefixUrl(prefix));
});

it('a missing bucket is not-found', async () => {
  const server = inject('s3');
  const url = storeUrl('p', 'n').replace(`@${server.bucket}/`, '@no-such-bucket-eryx/');
  for (const call of [
    () => s3Store.namespaces(url),
    () => s3Store.migrate(url, { dryRun: true }),
    () => gcS3Url(url),
  ]) {
    await expect(call()).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringMatching(/the bucket "no-such-bucket-eryx" does not exist/),
    });
  }
});

it('migrates by creating the root entry of a new filesystem, only when not dry', async () => {
  const prefix = randomPrefix('migrate');
  const url = storeUrl(prefix, 'n');
  const client = newClient();
  const dry = await migrateS3Url(url, { dryRun: true });
  expect(dry).toEqual({
    from: null,
    to: 1,
    steps: [`create the root directory entry under "${prefix}/n/" (layout version 1)`],
    applied: false,
  });
  expect(await rawKeys(client, `${prefix}/`)).toEqual([]);
  expect(await s3Store.migrate(url)).toEqual({ ...dry, applied: true });
  expect(
    (await rawKeys(client, `${prefix}/n/`)).filter((k) => k.startsWith(`${prefix}/n/root!`)),
  ).toHaveLength(1);
  expect(await s3Store.namespaces(url)).toEqual([{ name: 'n' }]);
  expect(await s3Store.migrate(url, { dryRun: true })).toEqual({ from: 1, to: 1, steps: [], applied: false });
  await dropS3Url(url);
  client.destroy();
});

it('gc through the URL collects a stray chunk, reporting its progress and the bytes freed', async () => {
  const prefix = randomPrefix('gc');
  const url = storeUrl(prefix, 'n');
  const s = await openS3Url(url);
  await s.mkdir('/d');
  await s.write('/d/f', bytes('small, inline'));
  await s.close();
  const client = newClient();
  const stray = `${prefix}/n/c/stray-chunk`;
  await client.send(
    new PutObjectCommand({ Bucket: inject('s3').bucket, Key: stray, Body: new Uint8Array(1234) }),
  );
  const before = await rawKeys(client, `${prefix}/n/`);
  const seen: GcProgress[] = [];
  const result = await s3Store.gc!(url, { minAgeMs: 0, onProgress: (p) => seen.push(p) });
  // Every object listed once (no chunked file: no manifest read).
  expect(result).toEqual({
    chunks: 1,
    entries: 0,
    journals: 0,
    examined: before.length,
    deleted: 1,
    bytes: 1234,
  });
  expect(seen[0]?.phase).toBe('scanning');
  expect(seen.at(-1)).toEqual({
    phase: 'deleting',
    examined: before.length,
    found: 1,
    deleted: 1,
    bytes: 1234,
  });
  for (let i = 1; i < seen.length; i++) {
    expect(seen[i]!.examined).toBeGreaterThanOrEqual(seen[i - 1]!.examined);
    expect(seen[i]!.deleted).toBeGreaterThanOrEqual(seen[i - 1]!.deleted);
  }
  expect(await rawKeys(client, `${prefix}/n/`)).toEqual(before.filter((k) => k !== stray));
  // Young garbage is kept by default.
  await client.send(
    new PutObjectCommand({ Bucket: inject('s3').bucket, Key: stray, Body: new Uint8Array(10) }),
  );
  expect(await gcS3Url(url)).toMatchObject({ chunks: 0, deleted: 0, bytes: 0 });
  await dropS3Url(url);
  client.destroy();
});

it('gc refuses a URL naming no filesystem, without creating one', async () => {
  const prefix = randomPrefix('gc');
  const s = await openS3Url(storeUrl(prefix, 'only'));
  await s.write('/f', bytes('x'));
  await s.close();
  const client = newClient();
  for (const url of [storeUrl(prefix, 'missing'), prefixUrl(prefix)]) {
    await expect(s3Store.gc!(url, { minAgeMs: 0 })).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringMatching(/no filesystem under .*name it with #namespace/),
    });
  }
  expect(await rawKeys(client, `${prefix}/missing/`)).toEqual([]);
  expect((await rawKeys(client, `${prefix}/`)).every((k) => k.startsWith(`${prefix}/only/`))).toBe(true);
  await dropS3Url(storeUrl(prefix, 'only'));
  client.destroy();
});
