import { DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { type S3Storage, type S3StorageOptions, s3 } from '../src/index.js';
import { Layout } from '../src/layout.js';
import { chaos } from './chaos.js';
import { emulateConditionalWrites } from './conditional.js';
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

type Client = ReturnType<typeof newClient>;

/** The keys under a storage's prefix starting with `under` (`e/`, `n/`, `c/`), without the prefix. */
async function keysUnder(client: Client, prefix: string, under: string): Promise<string[]> {
  return (await rawKeys(client, `${prefix}${under}`)).map((k) => k.slice(prefix.length)).sort();
}

async function body(client: Client, bucket: string, key: string): Promise<Uint8Array> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToByteArray();
}

/** The meta of a raw key (without the prefix). */
function metaOf(prefix: string, key: string) {
  return new Layout(prefix).parseKey(`${prefix}${key}`)!.key.meta!;
}

const MODES = [
  [
    'single-writer',
    (prefix: string, o: Partial<S3StorageOptions> = {}) => s3({ ...serverOptions(), prefix, ...o }),
  ],
  ['conditional', conditionalStorage],
] as const;

describe('hard links in the object layout', () => {
  it('the first link moves the file into an inode; both names become h entries naming it', async () => {
    const client = newClient();
    const fs = freshStorage({ client });
    try {
      expect(fs.capabilities.hardLinks).toBe(true);
      await fs.mkdir('/d');
      await fs.write('/d/a', bytes('hello'));
      await fs.setTimes('/d/a', { modified: 1_000_000, accessed: 2_000_000 });
      const before = await fs.stat('/d/a');
      expect(before.linkCount).toBe(1);
      expect(await keysUnder(client, fs.prefix, 'n/')).toEqual([]);
      await fs.link('/d/a', '/b');
      await fs.flush();
      const names = (await keysUnder(client, fs.prefix, 'e/')).filter((k) => !k.startsWith('e/d!'));
      expect(names).toEqual([
        expect.stringMatching(/^e\/b!1!h[0-9a-f]+~/),
        expect.stringMatching(/^e\/d\/a!3!h/),
      ]);
      const [b, a] = names.map((k) => metaOf(fs.prefix, k));
      expect(a!.inode).toBe(b!.inode);
      expect(await body(client, fs.bucket, `${fs.prefix}${names[0]}`)).toEqual(new Uint8Array(0));
      // The inode: the file's kind, size and times, its count, its bytes as the body.
      const inodes = await keysUnder(client, fs.prefix, 'n/');
      expect(inodes).toEqual([expect.stringMatching(new RegExp(`^n/${a!.inode}!1!i5~`))]);
      expect(metaOf(fs.prefix, inodes[0]!)).toEqual({
        kind: 'i',
        size: 5,
        created: before.created,
        modified: 1_000_000,
        accessed: 2_000_000,
        links: 2,
      });
      expect(text(await body(client, fs.bucket, `${fs.prefix}${inodes[0]}`))).toBe('hello');
      // The inode's id, the same through both names.
      const linked = await fs.stat('/b');
      expect(linked).toEqual({ ...before, linkCount: 2, id: expect.stringMatching(/^inode:[0-9a-f]+$/) });
      expect((await fs.stat('/d/a')).id).toBe(linked.id);

      // One name goes: the count goes down; the last: nothing is left but the directory.
      await fs.delete('/d/a');
      await fs.flush();
      expect((await keysUnder(client, fs.prefix, 'n/')).map((k) => metaOf(fs.prefix, k).links)).toEqual([1]);
      expect((await fs.stat('/b')).linkCount).toBe(1);
      await fs.delete('/b');
      await fs.flush();
      expect(await keysUnder(client, fs.prefix, 'n/')).toEqual([]);
      expect(await keysUnder(client, fs.prefix, 'e/')).toEqual([expect.stringMatching(/^e\/d!1!d0~/)]);
    } finally {
      await fs.close();
      client.destroy();
    }
  });

  for (const [mode, open] of MODES) {
    it(`${mode}: a chunked file's chunks are shared, never copied, and go with the last name`, async () => {
      const client = newClient();
      const prefix = randomPrefix('hard');
      const fs = open(prefix, { chunkSize: 1024, inlineThreshold: 256 });
      const content = pattern(3000);
      try {
        await fs.write('/a', content);
        await fs.flush();
        const chunks = await keysUnder(client, fs.prefix, 'c/');
        expect(chunks).toHaveLength(3);
        await fs.link('/a', '/b');
        await fs.link('/b', '/c');
        await fs.flush();
        expect(await keysUnder(client, fs.prefix, 'c/')).toEqual(chunks);
        const [inode] = await keysUnder(client, fs.prefix, 'n/');
        expect(metaOf(fs.prefix, inode!)).toMatchObject({ kind: 'c', size: 3000, links: 3 });
        // A write through one name replaces one chunk, seen through all.
        await fs.writeAt('/c', 1024, bytes('xyz'));
        content.set(bytes('xyz'), 1024);
        for (const name of ['/a', '/b', '/c']) expect(await fs.read(name)).toEqual(content);
        await fs.flush();
        expect(await keysUnder(client, fs.prefix, 'c/')).toHaveLength(3);
        await fs.delete('/a');
        await fs.rename('/b', '/c'); // onto another name of the same file: nothing happens
        expect((await fs.stat('/c')).linkCount).toBe(2);
        await fs.write('/other', bytes('o'));
        await fs.rename('/other', '/c'); // replaces one name: the file keeps the other
        await fs.flush();
        expect(await keysUnder(client, fs.prefix, 'c/')).toHaveLength(3);
        expect(await fs.read('/b')).toEqual(content);
        await fs.delete('/b');
        await fs.flush();
        expect(await keysUnder(client, fs.prefix, 'c/')).toEqual([]);
        const inodes = await keysUnder(client, fs.prefix, 'n/');
        // Conditional mode keeps a tombstone, as for any deleted name, until gc.
        if (mode === 'conditional') {
          expect(inodes.map((k) => metaOf(fs.prefix, k).kind)).toEqual(['t']);
        } else {
          expect(inodes).toEqual([]);
        }
        const check = open(prefix);
        await check.gc({ minAgeMs: 0 });
        expect(await keysUnder(client, fs.prefix, 'n/')).toEqual([]);
        expect(text(await check.read('/c'))).toBe('o');
        await check.close();
      } finally {
        await fs.close();
        client.destroy();
      }
    });
  }

  it('list costs one more LIST per linked entry, none once cached; stat through a name two', async () => {
    const fs = freshStorage();
    try {
      await fs.mkdir('/d');
      await fs.write('/d/plain', bytes('p'));
      await fs.write('/d/a', bytes('linked'));
      await fs.link('/d/a', '/d/b');
      await fs.symlink('/d/l', 'a');
      await fs.link('/d/l', '/d/m');
      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      await other.ready();
      const listing = count(other);
      const entries = (await other.list('/d')).sort((x, y) => x.name.localeCompare(y.name));
      expect(entries).toEqual([
        { name: 'a', kind: 'file', size: 6 },
        { name: 'b', kind: 'file', size: 6 },
        { name: 'l', kind: 'symlink', size: 1 },
        { name: 'm', kind: 'symlink', size: 1 },
        { name: 'plain', kind: 'file', size: 1 },
      ]);
      // The directory's lookup and its walk, then one LIST per linked name.
      expect(listing).toEqual({ ListObjectsV2Command: 2 + 4 });
      const again = count(other);
      await other.list('/d');
      expect(await other.stat('/d/b')).toMatchObject({ kind: 'file', size: 6, linkCount: 2 });
      expect(await other.readlink('/d/m')).toBe('a');
      // Cached (single-writer mode): the names, the inodes, then the link's target.
      expect(again).toEqual({ GetObjectCommand: 1 });
      await other.close();

      const third = s3({ ...serverOptions(), prefix: fs.prefix });
      await third.ready();
      const stat = count(third);
      expect(await third.stat('/d/a')).toMatchObject({ kind: 'file', size: 6, linkCount: 2 });
      expect(stat).toEqual({ ListObjectsV2Command: 2 });
      await third.close();
    } finally {
      await fs.close();
    }
  });

  it('gc keeps a live inode and its chunks, and collects an inode no name refers to once old', async () => {
    const client = newClient();
    const prefix = randomPrefix('hard-gc');
    const fs = s3({ ...serverOptions(), client, prefix, chunkSize: 1024, inlineThreshold: 256 });
    const content = pattern(2500, 3);
    try {
      await fs.write('/a', content);
      await fs.link('/a', '/b');
      await fs.write('/small', bytes('s'));
      await fs.link('/small', '/small2');
      await fs.close();
      const check = s3({ ...serverOptions(), prefix, chunkSize: 1024 });
      expect(await check.gc({ minAgeMs: 0 })).toEqual({ chunks: 0, entries: 0, journals: 0 });
      expect(await check.read('/b')).toEqual(content);
      expect(text(await check.read('/small2'))).toBe('s');
      await check.close();

      // The names vanish behind the storage's back (as if a crash left the count too high): the
      // inode is garbage, but only once older than minAgeMs.
      const names = (await keysUnder(client, fs.prefix, 'e/')).filter((k) => /^e\/(a|b)!/.test(k));
      expect(names).toHaveLength(2);
      await client.send(
        new DeleteObjectsCommand({
          Bucket: fs.bucket,
          Delete: { Objects: names.map((k) => ({ Key: `${fs.prefix}${k}` })) },
        }),
      );
      const young = s3({ ...serverOptions(), prefix });
      expect(await young.gc()).toEqual({ chunks: 0, entries: 0, journals: 0 });
      expect(await keysUnder(client, fs.prefix, 'n/')).toHaveLength(2);
      expect(await young.gc({ minAgeMs: 0 })).toEqual({ chunks: 3, entries: 1, journals: 0 });
      expect(await keysUnder(client, fs.prefix, 'n/')).toHaveLength(1);
      expect(await keysUnder(client, fs.prefix, 'c/')).toEqual([]);
      expect(text(await young.read('/small'))).toBe('s');
      expect((await young.stat('/small2')).linkCount).toBe(2);
      await young.close();
    } finally {
      client.destroy();
    }
  });

  it('upgrade: a store written before hard links takes them, and reads and collects as it must', async () => {
    const client = newClient();
    const prefix = randomPrefix('hard-upgrade');
    const options = { chunkSize: 1024, inlineThreshold: 256 };
    const old = s3({ ...serverOptions(), prefix, ...options });
    const big = pattern(5000, 9);
    await old.mkdir('/d');
    await old.write('/d/inline', bytes('inline'));
    await old.write('/d/big', big);
    await old.symlink('/d/l', 'big');
    await old.write('/keep', bytes('keep'));
    await old.close();
    try {
      // Today's layout: entries and chunks only, no inode and no `h` kind.
      const keys = await rawKeys(client, `${old.prefix}`);
      expect(keys.some((k) => k.startsWith(`${old.prefix}n/`))).toBe(false);
      const kinds = (await keysUnder(client, old.prefix, 'e/')).map((k) => metaOf(old.prefix, k).kind).sort();
      expect(kinds).toEqual(['c', 'd', 'i', 'i', 'l']);

      const fs = s3({ ...serverOptions(), prefix, ...options });
      expect(text(await fs.read('/d/inline'))).toBe('inline');
      await fs.link('/d/inline', '/inline2');
      await fs.link('/d/big', '/big2');
      await fs.link('/d/l', '/l2');
      await fs.append('/big2', bytes('+'));
      await fs.close();

      const next = s3({ ...serverOptions(), prefix, ...options });
      expect(await next.gc({ minAgeMs: 0 })).toEqual({ chunks: 0, entries: 0, journals: 0 });
      const grown = new Uint8Array(5001);
      grown.set(big);
      grown.set(bytes('+'), 5000);
      for (const name of ['/d/big', '/big2']) {
        expect(await next.read(name)).toEqual(grown);
        expect((await next.stat(name)).linkCount).toBe(2);
      }
      expect(text(await next.read('/inline2'))).toBe('inline');
      expect(await next.readlink('/l2')).toBe('big');
      expect(await next.stat('/keep')).toMatchObject({ size: 4, linkCount: 1 });
      expect((await next.list('/')).map((e) => e.name).sort()).toEqual([
        'big2',
        'd',
        'inline2',
        'keep',
        'l2',
      ]);
      // Every chunk still there is one the inode lists.
      expect(await keysUnder(client, old.prefix, 'c/')).toHaveLength(5);
      await next.close();
    } finally {
      client.destroy();
    }
  });

  it('conditional mode: two processes link, write and delete through names of one file', async () => {
    const prefix = randomPrefix('hard-two');
    const a = conditionalStorage(prefix);
    const b = conditionalStorage(prefix);
    try {
      await a.write('/f', bytes('0'));
      // Links of one file made at once by both: every name counts.
      await Promise.all([a.link('/f', '/a1'), b.link('/f', '/b1'), a.link('/f', '/a2'), b.link('/f', '/b2')]);
      expect((await b.stat('/f')).linkCount).toBe(5);
      const appends = [];
      for (let i = 0; i < 10; i++) appends.push((i % 2 ? a : b).append(i % 2 ? '/a1' : '/b2', bytes(`${i}`)));
      await Promise.all(appends);
      expect(
        text(await a.read('/b1'))
          .split('')
          .sort()
          .join(''),
      ).toBe('00123456789');
      await Promise.all([a.delete('/a1'), b.delete('/b1'), a.delete('/f'), b.delete('/b2')]);
      expect((await b.stat('/a2')).linkCount).toBe(1);
      expect((await a.read('/a2')).length).toBe(11);
      await a.delete('/a2');
      await a.gc({ minAgeMs: 0 });
      expect(await rawKeys(newClient(), `${a.prefix}n/`)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a name whose file another process freed meanwhile is looked up again: found gone', async () => {
    const prefix = randomPrefix('hard-stale');
    const a = s3({ ...serverOptions(), prefix });
    const b = s3({ ...serverOptions(), prefix });
    try {
      await a.write('/x', bytes('old'));
      await a.link('/x', '/y');
      await a.link('/x', '/z');
      // b knows the names (not their inode) when a removes them all: b's view is stale, as a
      // conditional-mode writer's may be between its lookups.
      for (const name of ['/x', '/y', '/z']) expect(await b.exists(name)).toBe(true);
      for (const name of ['/x', '/y', '/z']) await a.delete(name);
      await b.write('/x', bytes('new'));
      await expect(b.link('/y', '/w')).rejects.toMatchObject({ code: 'not-found' });
      await expect(b.setSize('/z', 0)).rejects.toMatchObject({ code: 'not-found' });
      expect(await b.stat('/x')).toMatchObject({ size: 3, linkCount: 1 });
      const check = s3({ ...serverOptions(), prefix });
      expect(text(await check.read('/x'))).toBe('new');
      expect((await check.list('/')).map((e) => e.name)).toEqual(['x']);
      await check.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  // A request failing at each step in turn (a crash there): what a fresh storage object sees
  // afterwards is the old or the new state, and a count is never below the names (one above is
  // allowed: gc collects the inode once its names are gone).
  const STEPS: [string, (fs: S3Storage) => Promise<void>, (fs: S3Storage) => Promise<void>][] = [
    ['a first link', async () => {}, (fs) => fs.link('/a', '/b')],
    ['a second link', (fs) => fs.link('/a', '/b'), (fs) => fs.link('/b', '/c')],
    ['a delete', (fs) => fs.link('/a', '/b'), (fs) => fs.delete('/a')],
    [
      'a rename replacing a name',
      async (fs) => {
        await fs.link('/a', '/b');
        await fs.write('/o', bytes('other'));
      },
      (fs) => fs.rename('/o', '/b'),
    ],
  ];
  for (const [what, setup, run] of STEPS)
    for (const mode of ['single-writer', 'conditional'] as const) {
      it(`${mode}: a failure at any request of ${what} leaves no name without its file`, async () => {
        // Conditional mode: the claims a failed write leaves are skipped at once, not waited for.
        const options = { chunkSize: 1024, inlineThreshold: 256, claimTimeoutMs: 1 };
        const open = (prefix: string, client: Client) =>
          mode === 'conditional'
            ? s3({
                ...serverOptions(),
                client: emulateConditionalWrites(client),
                prefix,
                conditionalWrites: true,
                ...options,
              })
            : s3({ ...serverOptions(), client, prefix, ...options });
        for (let n = 0; ; n++) {
          const client = newClient();
          const faults = chaos(client);
          const prefix = randomPrefix('hard-crash');
          const fs = open(prefix, client);
          const content = pattern(2000, n);
          await fs.write('/a', content);
          await setup(fs);
          await fs.flush();
          faults.arm(n);
          const failed = await run(fs).then(
            () => false,
            () => true,
          );
          faults.disarm();
          await fs.close().catch(() => undefined);
          client.destroy();

          const raw = newClient();
          const checkClient = newClient();
          const check = open(prefix, checkClient);
          // The live generation of each name, then the names of each inode.
          const live = new Map<string, { gen: number; key: string }>();
          for (const key of await keysUnder(raw, `${check.prefix}`, 'e/')) {
            const parsed = new Layout(check.prefix).parseKey(`${check.prefix}${key}`)!;
            const top = live.get(parsed.namePrefix);
            if (parsed.key.meta && (!top || top.gen < parsed.key.gen))
              live.set(parsed.namePrefix, { ...parsed.key, key });
          }
          const byInode = new Map<string, string[]>();
          for (const { key } of live.values()) {
            const meta = metaOf(check.prefix, key);
            if (meta.kind === 'h') byInode.set(meta.inode!, [...(byInode.get(meta.inode!) ?? []), key]);
          }
          const names = (await check.list('/')).map((e) => `/${e.name}`);
          for (const name of names) {
            const data = await check.read(name);
            if (text(data) !== 'other')
              expect(data, `${name} after a failure at request ${n}`).toEqual(content);
          }
          for (const keys of byInode.values()) {
            const name = `/${keys[0]!.slice(2, keys[0]!.indexOf('!'))}`;
            const { linkCount } = await check.stat(name);
            expect(linkCount, `linkCount of ${name} at request ${n}`).toBeGreaterThanOrEqual(keys.length);
          }
          // Every name gone, gc leaves nothing of the file behind.
          for (const name of names) await check.delete(name);
          await check.gc({ minAgeMs: 0 });
          expect(await keysUnder(raw, check.prefix, 'n/'), `inodes at request ${n}`).toEqual([]);
          expect(await keysUnder(raw, check.prefix, 'c/'), `chunks at request ${n}`).toEqual([]);
          await check.close();
          checkClient.destroy();
          raw.destroy();
          if (!failed) {
            expect(n, 'requests failed in turn').toBeGreaterThan(1);
            break;
          }
        }
        // Conditional mode sends a claim, a check and the emulation's HEAD per update, dozens of times.
      }, 180_000);
    }
});
