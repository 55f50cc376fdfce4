import { freePort, postgresStoreUrl, s3StoreUrl } from '@eryx/test-servers';
import type { StoreBackend } from '@eryx/vfs-core';
import { postgresStore } from '@eryx/vfs-postgres';
import { s3Store } from '@eryx/vfs-s3';
import { describe, expect, it } from 'vitest';
import { api, cacheDir, fixture } from './helpers.js';

const { run } = api;

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;

/** A new store's URL; with `port`, the same server's URL at a port where nothing listens. */
type MakeUrl = (port?: number) => string;
const postgresUrl: MakeUrl = (port) => {
  const env = { ...process.env };
  if (port !== undefined) env.VFS_POSTGRES_URL = env.VFS_POSTGRES_URL!.replace(/:\d+\//, `:${port}/`);
  return postgresStoreUrl(unique('vfs-run'), {}, env);
};
const s3Url: MakeUrl = (port) =>
  s3StoreUrl(
    unique('vfs-run'),
    {},
    port === undefined ? process.env : { ...process.env, VFS_S3_ENDPOINT: `http://127.0.0.1:${port}` },
  );

// s3rver ignores conditional writes, so only PostgreSQL promises that one of two O_EXCL creates fails.
describe.each([
  ['PostgreSQL', postgresUrl, postgresStore, true],
  ['S3', s3Url, s3Store, false],
] as Array<[string, MakeUrl, StoreBackend, boolean]>)(
  'run over %s store URLs (through the sync bridge)',
  (_name, makeUrl, backend, exclusive) => {
    it('keeps what one run wrote for the next, and serves two runs at once', async () => {
      const url = makeUrl();
      try {
        const notes = (args: string[]) =>
          run({ component: fixture('notes'), mounts: { '/data': url }, args: ['notes', ...args], cacheDir });
        expect(await notes(['add', 'first'])).toMatchObject({ status: 'exited', exitCode: 0, unstored: [] });
        // Two runs at once claim names (O_CREAT|O_EXCL); of one name, exactly one wins.
        const names = exclusive ? ['lock', 'lock'] : ['lock-a', 'lock-b'];
        const both = await Promise.all([notes(['claim', 'x', names[0]!]), notes(['claim', 'y', names[1]!])]);
        for (const result of both) expect(result.exitCode).toBe(0);
        const outcomes = both.map((r) => r.stdout).sort();
        expect(outcomes).toEqual(
          exclusive ? ['lost lock\n', 'won lock\n'] : ['won lock-a\n', 'won lock-b\n'],
        );
        const listed = await notes(['list']);
        expect(listed.stdout).toBe('runs so far: 1\n  1: first\n');
      } finally {
        await backend.drop(url);
      }
    });

    it('rejects a run whose store cannot be reached', async () => {
      const port = await freePort();
      const url = makeUrl(port);
      expect(url).toContain(`:${port}`);
      await expect(
        run({ component: fixture('notes'), mounts: { '/data': url }, args: ['notes', 'list'], cacheDir }),
      ).rejects.toMatchObject({
        code: 'io',
        message: expect.stringMatching(/^io: mount \/data \(/),
      });
    });

    it('finds the backend in options.stores', async () => {
      const url = makeUrl();
      try {
        const asked: string[] = [];
        const counting: StoreBackend = {
          ...backend,
          bridgeSpec: (target, options) => {
            asked.push(String(target));
            return backend.bridgeSpec(target, options);
          },
        };
        const result = await run({
          component: fixture('notes'),
          mounts: { '/data': url },
          args: ['notes', 'add', 'x'],
          stores: [counting],
          cacheDir,
        });
        expect(result.exitCode).toBe(0);
        expect(asked).toHaveLength(1);
      } finally {
        await backend.drop(url);
      }
    });
  },
);
