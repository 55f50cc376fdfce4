import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { s3 } from '../src/index.js';
import { Layout } from '../src/layout.js';
import { chaos } from './chaos.js';
import {
  bytes,
  conditionalStorage,
  count,
  freshStorage,
  newClient,
  pattern,
  randomPrefix,
  rawKeys,
  serverOptions,
  text,
} from './helpers.js';

/** The live entry keys under a storage's prefix (root excluded), without the prefix. */
async function entryKeys(client: ReturnType<typeof newClient>, prefix: string): Promise<string[]> {
  return (await rawKeys(client, `${prefix}e/`)).map((k) => k.slice(prefix.length)).sort();
}

describe('symbolic links in the object layout', () => {
  it('are one entry object each: kind l in the key, size the target bytes, the target its body', async () => {
    const client = newClient();
    const fs = freshStorage({ client });
    const target = '../ü/日本.txt';
    try {
      expect(fs.capabilities.symlinks).toBe(true);
      await fs.mkdir('/d');
      await fs.symlink('/d/l', target);
      await fs.flush();
      const keys = await entryKeys(client, fs.prefix);
      expect(keys).toHaveLength(2);
      const link = keys.find((k) => k.startsWith('e/d/l!'))!;
      const meta = new Layout(fs.prefix).parseKey(`${fs.prefix}${link}`)!.key.meta!;
      expect(meta).toMatchObject({ kind: 'l', size: Buffer.byteLength(target) });
      expect(meta.created).toBe(meta.modified);
      const body = await client.send(new GetObjectCommand({ Bucket: fs.bucket, Key: `${fs.prefix}${link}` }));
      expect(await body.Body!.transformToString()).toBe(target);
      // Another storage object knows nothing in memory: it reads the key, then the body.
      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      expect(await other.stat('/d/l')).toMatchObject({ kind: 'symlink', size: Buffer.byteLength(target) });
      expect(await other.list('/d')).toEqual([
        { name: 'l', kind: 'symlink', size: Buffer.byteLength(target) },
      ]);
      expect(await other.readlink('/d/l')).toBe(target);
      await expect(other.read('/d/l')).rejects.toMatchObject({ code: 'is-a-symlink' });
      await expect(other.list('/d/l')).rejects.toMatchObject({ code: 'not-a-directory' });
      await expect(other.write('/d/l/x', bytes('x'))).rejects.toMatchObject({ code: 'not-a-directory' });
      expect(await other.exists('/d/l/x')).toBe(false);
      await other.close();
    } finally {
      await fs.close();
      client.destroy();
    }
  });

  it('cost what files cost: a cached readlink no request, an uncached one a LIST and a GET', async () => {
    const fs = freshStorage();
    try {
      await fs.write('/f', bytes('data'));
      await fs.ready();
      const creating = count(fs);
      await fs.create('/c');
      const file = { ...creating };
      await fs.symlink('/l', 'f');
      // The lookup of the new name (its parent is cached) and the entry object, as for create.
      expect(file).toEqual({ ListObjectsV2Command: 1, PutObjectCommand: 1 });
      expect(creating).toEqual({ ListObjectsV2Command: 2, PutObjectCommand: 2 });
      const cached = count(fs);
      expect(await fs.readlink('/l')).toBe('f');
      expect(await fs.stat('/l')).toMatchObject({ kind: 'symlink', size: 1 });
      expect(cached).toEqual({});

      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      await other.ready();
      const reading = count(other);
      expect(await other.readlink('/l')).toBe('f');
      expect(await other.readlink('/l')).toBe('f');
      expect(reading).toEqual({ ListObjectsV2Command: 1, GetObjectCommand: 1 });
      // A file's read costs what it cost before links: its lookup and its body.
      const reads = count(other);
      expect(text(await other.read('/f'))).toBe('data');
      expect(reads).toEqual({ ListObjectsV2Command: 1, GetObjectCommand: 1 });
      await other.close();
    } finally {
      await fs.close();
    }
  });

  it('setTimes keeps the target, in the cache and in the store', async () => {
    const fs = freshStorage();
    try {
      await fs.symlink('/l', 'somewhere');
      expect(await fs.readlink('/l')).toBe('somewhere');
      await fs.setTimes('/l', { modified: 1000, accessed: 2000 });
      expect(await fs.stat('/l')).toMatchObject({ kind: 'symlink', size: 9, modified: 1000, accessed: 2000 });
      expect(await fs.readlink('/l')).toBe('somewhere');
      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      expect(await other.readlink('/l')).toBe('somewhere');
      expect(await other.stat('/l')).toMatchObject({ modified: 1000, accessed: 2000 });
      await other.close();
    } finally {
      await fs.close();
    }
  });

  it('move with renames and go with deletes, leaving no garbage', async () => {
    const client = newClient();
    const fs = freshStorage({ client, chunkSize: 1024, inlineThreshold: 256 });
    try {
      await fs.mkdir('/d');
      await fs.symlink('/d/in', '../x');
      await fs.write('/d/big', pattern(3000));
      await fs.rename('/d', '/e'); // a directory holding a link
      await fs.symlink('/l', 'one');
      await fs.rename('/l', '/e/big'); // a link replacing a chunked file: its chunks go
      await fs.write('/f', bytes('file'));
      await fs.symlink('/m', 'two');
      await fs.rename('/f', '/m'); // a file replacing a link
      await fs.symlink('/gone', 'three');
      await fs.delete('/gone');
      await fs.close();
      expect(await entryKeys(client, fs.prefix)).toEqual([
        expect.stringMatching(/^e\/e!1!d0~/),
        expect.stringMatching(/^e\/e\/big!2!l3~/),
        expect.stringMatching(/^e\/e\/in!1!l4~/),
        expect.stringMatching(/^e\/m!2!i4~/),
      ]);
      expect(await rawKeys(client, `${fs.prefix}c/`)).toEqual([]);
      const check = s3({ ...serverOptions(), prefix: fs.prefix });
      expect(await check.gc({ minAgeMs: 0 })).toEqual({ chunks: 0, entries: 0, journals: 0 });
      expect(await check.readlink('/e/in')).toBe('../x');
      expect(await check.readlink('/e/big')).toBe('one');
      expect(text(await check.read('/m'))).toBe('file');
      expect(await check.exists('/gone')).toBe(false);
      await check.close();
    } finally {
      client.destroy();
    }
  });

  it('an interrupted rename of a directory holding links is completed at the next open', async () => {
    for (let n = 0; ; n++) {
      const client = newClient();
      const faults = chaos(client);
      const prefix = randomPrefix('rename-links');
      const fs = s3({ ...serverOptions(), client, prefix });
      await fs.mkdir('/src');
      await fs.symlink('/src/a', '/abs/target');
      await fs.symlink('/src/b', 'rel');
      await fs.flush();
      faults.arm(n);
      const failed = await fs.rename('/src', '/dst').then(
        () => false,
        () => true,
      );
      faults.disarm();
      await fs.close().catch(() => undefined);
      const next = s3({ ...serverOptions(), prefix });
      const moved = !(await next.exists('/src'));
      const dir = moved ? '/dst' : '/src';
      expect(await next.list(dir)).toEqual(
        expect.arrayContaining([
          { name: 'a', kind: 'symlink', size: 11 },
          { name: 'b', kind: 'symlink', size: 3 },
        ]),
      );
      expect(await next.readlink(`${dir}/a`)).toBe('/abs/target');
      expect(await next.readlink(`${dir}/b`)).toBe('rel');
      await next.close();
      client.destroy();
      if (!failed) break;
    }
  });
});

describe('a store of the layout before links', () => {
  it('opens, keeps its data and takes links afterwards', async () => {
    // Objects as the release before links wrote them (kinds d, i and c only), not by this code.
    const client = newClient();
    const bucket = serverOptions().bucket;
    const prefix = randomPrefix('old-layout');
    const t = (1_700_000_000_000).toString(36);
    const meta = (kind: string, size: number) => `${kind}${size.toString(36)}~${t}~${t}~${t}`;
    const put = (key: string, body: string | Uint8Array) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: body }));
    await put(`root!1!${meta('d', 0)}`, '');
    await put(`e/docs!1!${meta('d', 0)}`, '');
    await put(`e/docs/a.txt!2!${meta('i', 5)}`, 'hello');
    await put('c/0123abcd', pattern(1000));
    await put(`e/docs/big!1!${meta('c', 1000)}`, JSON.stringify({ s: 1024, c: [['0123abcd', 1000]] }));
    const fs = s3({ ...serverOptions(), prefix });
    try {
      expect(await fs.list('/docs')).toEqual(
        expect.arrayContaining([
          { name: 'a.txt', kind: 'file', size: 5 },
          { name: 'big', kind: 'file', size: 1000 },
        ]),
      );
      expect(text(await fs.read('/docs/a.txt'))).toBe('hello');
      expect(await fs.read('/docs/big')).toEqual(pattern(1000));
      expect(await fs.stat('/docs/a.txt')).toMatchObject({ modified: 1_700_000_000_000 });
      await fs.symlink('/docs/link', 'a.txt');
      await fs.symlink('/top', 'docs/big');
      expect(await fs.readlink('/docs/link')).toBe('a.txt');
      await fs.close();
      const again = s3({ ...serverOptions(), prefix });
      expect(await again.readlink('/top')).toBe('docs/big');
      expect((await again.list('/docs')).map((e) => `${e.name}:${e.kind}`).sort()).toEqual([
        'a.txt:file',
        'big:file',
        'link:symlink',
      ]);
      expect(await again.gc({ minAgeMs: 0 })).toEqual({ chunks: 0, entries: 0, journals: 0 });
      await again.close();
    } finally {
      await fs.close().catch(() => undefined);
      client.destroy();
    }
  });
});

describe('symbolic links in conditional mode', () => {
  const conditional = conditionalStorage;

  it('two writers racing symlink and create of one path get exactly one winner each', async () => {
    const prefix = randomPrefix('links-race');
    const a = conditional(prefix);
    const b = conditional(prefix);
    try {
      const paths = Array.from({ length: 8 }, (_, i) => `/p${i}`);
      const results = await Promise.allSettled(paths.flatMap((p) => [a.symlink(p, 'from-a'), b.create(p)]));
      for (let i = 0; i < paths.length; i++) {
        const [link, file] = [results[2 * i]!, results[2 * i + 1]!];
        expect([link.status, file.status].sort()).toEqual(['fulfilled', 'rejected']);
        const lost = (link.status === 'rejected' ? link : file) as PromiseRejectedResult;
        expect(lost.reason).toMatchObject({ code: 'already-exists' });
        const kind = (await b.stat(paths[i]!)).kind;
        expect(kind).toBe(link.status === 'fulfilled' ? 'symlink' : 'file');
        if (kind === 'symlink') expect(await b.readlink(paths[i]!)).toBe('from-a');
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a deleted link stays deleted for a writer with an older view, and gc keeps the store clean', async () => {
    const prefix = randomPrefix('links-tomb');
    const a = conditional(prefix);
    const b = conditional(prefix);
    try {
      await a.symlink('/l', 'x');
      expect(await b.readlink('/l')).toBe('x');
      await a.delete('/l');
      await expect(b.readlink('/l')).rejects.toMatchObject({ code: 'not-found' });
      await expect(b.symlink('/l', 'y')).resolves.toBeUndefined();
      expect(await a.readlink('/l')).toBe('y');
      await a.setTimes('/l', { modified: 5 });
      expect(await b.readlink('/l')).toBe('y');
      await b.delete('/l');
      await a.flush();
      await b.flush();
      await a.gc({ minAgeMs: 0 });
      const keys = await rawKeys(a.client, `${prefix}/`);
      expect(keys.filter((k) => !k.startsWith(`${prefix}/root!`))).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('limits', () => {
  it('a link counts as a file, its name and target in maxBytes; deleting it frees both', async () => {
    const fs = freshStorage({ limits: { maxFiles: 2, maxBytes: 20 } });
    try {
      await fs.write('/f', bytes('12345')); // 1 + 5 bytes, 1 file
      await fs.symlink('/ln', '123456'); // 2 + 6 bytes, 2 files
      await expect(fs.symlink('/m', 'x')).rejects.toMatchObject({ code: 'quota-exceeded' });
      await fs.delete('/f');
      // 8 bytes used: a link of 2 + 10 bytes fits 20, one more byte does not.
      await expect(fs.symlink('/mm', '1234567890a')).rejects.toMatchObject({ code: 'quota-exceeded' });
      expect(await fs.exists('/mm')).toBe(false);
      await fs.symlink('/mm', '1234567890');
      await expect(fs.symlink('/n', 'x')).rejects.toMatchObject({ code: 'quota-exceeded' });
      await fs.delete('/ln');
      await fs.symlink('/ln', '123456');
    } finally {
      await fs.close();
    }
  });
});
