import { isVfsError } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { s3 } from '../src/index.js';
import { randomPrefix, serverOptions } from './helpers.js';

// A copy the server answers with NoSuchKey although the source is there (s3rver once did for keys
// holding "+"): a rename must then fail and keep the file, never delete what it did not copy.
describe('s3 rename when a copy reports a missing source', () => {
  it('fails with io and keeps the source, then renames once copies work again', async () => {
    const storage = s3({
      ...serverOptions(),
      prefix: randomPrefix('copy'),
      chunkSize: 64 * 1024,
      inlineThreshold: 1024,
    });
    let failing = false;
    let refused = 0;
    storage.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (failing && context.commandName === 'CopyObjectCommand') {
          refused++;
          throw Object.assign(new Error('The specified key does not exist.'), {
            name: 'NoSuchKey',
            $metadata: { httpStatusCode: 404 },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseCopies' },
    );
    try {
      const data = new Uint8Array(200 * 1024).map((_, i) => i % 251);
      await storage.mkdir('/dir');
      await storage.writeAt('/dir/file', 0, data);
      // A rename is journaled and rolled forward: once copies work again it completes, whole.
      for (const [from, to, file] of [
        ['/dir/file', '/moved', '/moved'],
        ['/dir2', '/dir3', '/dir3/moved'],
      ] as const) {
        if (from === '/dir2') {
          await storage.mkdir('/dir2');
          await storage.rename('/moved', '/dir2/moved');
        }
        failing = true;
        const before = refused;
        const error = await storage.rename(from, to).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isVfsError(error, 'io'), `rename ${from}: ${String(error)}`).toBe(true);
        expect(refused).toBeGreaterThan(before);
        failing = false;
        expect(await storage.read(file)).toEqual(data);
        expect(await storage.exists(from)).toBe(false);
      }
    } finally {
      await storage.close();
    }
  });
});
