import { postgresStoreUrl } from '@eryx/test-servers';
import { memory } from '@eryx/vfs-memory';
import { postgresStore } from '@eryx/vfs-postgres';
import { describe, expect, it } from 'vitest';
import { api, cacheDir, dec, ECHO, PRINT, preview1, SPIN, SPIN_CALLING_HOST, WRITE_FILE } from './helpers.js';

const { run } = api;

/** Runs `component` and aborts it as soon as it prints to stdout. */
function abortOnOutput(options: Omit<Parameters<typeof run>[0], 'signal' | 'onStdout'>) {
  const controller = new AbortController();
  return run({ ...options, signal: controller.signal, onStdout: () => controller.abort() });
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;

describe('run: stopping a guest', () => {
  it('stops a guest spinning without host calls at the timeout', async () => {
    const spin = await preview1(PRINT + SPIN);
    const chunks: string[] = [];
    const result = await run({
      component: spin,
      timeout: 300,
      stopGrace: 100,
      cacheDir,
      onStdout: (c) => chunks.push(dec(c)),
    });
    expect(result).toMatchObject({ status: 'timeout', exitCode: 124, stdout: 'spinning\n', unstored: [] });
    expect(chunks).toEqual(['spinning\n']);
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
  });

  it('stops a guest spinning without host calls when the signal aborts', async () => {
    const spin = await preview1(PRINT + SPIN);
    const result = await abortOnOutput({ component: spin, stopGrace: 100, cacheDir });
    expect(result).toMatchObject({ status: 'aborted', exitCode: 130, stdout: 'spinning\n' });
  });

  it('does not start a guest whose signal is already aborted', async () => {
    const store = memory();
    const result = await run({
      component: await preview1(WRITE_FILE + PRINT),
      mounts: { '/data': store },
      signal: AbortSignal.abort(),
      cacheDir,
    });
    expect(result).toMatchObject({ status: 'aborted', exitCode: 130, stdout: '', unstored: [] });
    expect(await store.exists('/out.txt')).toBe(false);
  });

  it('ends a guest at its next host call, after its buffered writes are stored', async () => {
    const store = memory();
    const guest = await preview1(WRITE_FILE + PRINT + SPIN_CALLING_HOST);
    // A grace period far longer than the test: only a guest that stops at a host call ends in time.
    const result = await abortOnOutput({
      component: guest,
      mounts: { '/data': store },
      stopGrace: 60_000,
      cacheDir,
    });
    expect(result).toMatchObject({ status: 'aborted', exitCode: 130, unstored: [] });
    expect(result.durationMs).toBeLessThan(30_000);
    expect(dec(await store.read('/out.txt'))).toBe('unstored data');
  });

  it('ends a guest at its next write to stdout', async () => {
    const chatty = await preview1(`(loop $l ${PRINT} (br $l))`);
    const result = await abortOnOutput({ component: chatty, stopGrace: 60_000, cacheDir });
    expect(result).toMatchObject({ status: 'aborted', exitCode: 130 });
    expect(result.stdout).toMatch(/^(spinning\n)+$/);
    expect(result.durationMs).toBeLessThan(30_000);
  });

  it('ends a guest blocked reading a stdin stream', async () => {
    const { PassThrough } = await import('node:stream');
    const result = await run({
      component: await preview1(ECHO),
      stdin: new PassThrough(),
      timeout: 300,
      stopGrace: 60_000,
      cacheDir,
    });
    expect(result).toMatchObject({ status: 'timeout', exitCode: 124 });
    expect(result.durationMs).toBeLessThan(30_000);
  });

  it('reports the buffered writes a killed guest lost, over a storage object', async () => {
    // Unlimited: a store that declares maxBytes gets growing writes at once, unbuffered (next test).
    const store = memory({ maxBytes: Number.POSITIVE_INFINITY });
    const guest = await preview1(WRITE_FILE + PRINT + SPIN);
    const result = await abortOnOutput({
      component: guest,
      mounts: { '/data': store },
      stopGrace: 100,
      cacheDir,
    });
    expect(result.status).toBe('aborted');
    expect(result.unstored).toEqual([{ mount: '/data', path: '/out.txt', bytes: 13 }]);
    // The file was created (that is not buffered), its data was not stored.
    expect((await store.stat('/out.txt')).size).toBe(0);
    // The caller's storage is still usable.
    await store.write('/after', new Uint8Array([1]));
    expect(await store.exists('/after')).toBe(true);
  });

  it('loses nothing of a killed guest over a store that declares maxBytes: growth is not buffered', async () => {
    const store = memory();
    const result = await abortOnOutput({
      component: await preview1(WRITE_FILE + PRINT + SPIN),
      mounts: { '/data': store },
      stopGrace: 100,
      cacheDir,
    });
    expect(result.status).toBe('aborted');
    expect(result.unstored).toEqual([]);
    expect((await store.stat('/out.txt')).size).toBe(13);
  });

  it('stores or reports every buffered write over PostgreSQL (through the sync bridge)', async () => {
    const url = postgresStoreUrl(unique('vfs-run-stop'));
    try {
      const killed = await abortOnOutput({
        component: await preview1(WRITE_FILE + PRINT + SPIN),
        mounts: { '/data': url },
        stopGrace: 100,
        cacheDir,
      });
      expect(killed.status).toBe('aborted');
      expect(killed.unstored).toEqual([{ mount: '/data', path: '/out.txt', bytes: 13 }]);

      const stopped = await abortOnOutput({
        component: await preview1(WRITE_FILE + PRINT + SPIN_CALLING_HOST),
        mounts: { '/data': url },
        stopGrace: 60_000,
        cacheDir,
      });
      expect(stopped).toMatchObject({ status: 'aborted', unstored: [] });
      const storage = await postgresStore.open(url);
      try {
        expect(dec(await storage.read('/out.txt'))).toBe('unstored data');
      } finally {
        storage.close();
      }
    } finally {
      await postgresStore.drop(url);
    }
  });
});
