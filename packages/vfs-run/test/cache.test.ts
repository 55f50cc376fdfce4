import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { memory } from '@eryx/vfs-memory';
import { describe, expect, it } from 'vitest';
import { api, fixture, PRINT, preview1, tempDir } from './helpers.js';

const { defaultCacheDir, prepareComponent, run } = api;
const dist = new URL('../dist/index.js', import.meta.url).href;

/** prepareComponent in a new process: what it found in the cache. */
async function prepareElsewhere(
  component: string,
  cacheDir: string,
): Promise<{ fromCache: boolean; key: string }> {
  const script = `import { prepareComponent } from ${JSON.stringify(dist)};
    const p = await prepareComponent(${JSON.stringify(component)}, { cacheDir: ${JSON.stringify(cacheDir)} });
    console.log(JSON.stringify({ fromCache: p.fromCache, key: p.key }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { fromCache: boolean; key: string };
}

/** The cache's entries, without its index of component files (`files/`). */
const entries = (cacheDir: string) => readdirSync(cacheDir).filter((name) => name !== 'files');

describe('the transpile cache', () => {
  it('transpiles once into the cache; a later process finds it there and does not transpile', async () => {
    const cacheDir = tempDir();
    const prepared = await prepareComponent(fixture('notes'), { cacheDir });
    expect(prepared.fromCache).toBe(false);
    expect(prepared.preview1).toBe(false);
    expect(prepared.dir).toBe(join(cacheDir, prepared.key));
    expect(prepared.key).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(join(prepared.dir, 'component.js'))).toBe(true);
    expect(entries(cacheDir)).toEqual([prepared.key]);

    const elsewhere = await prepareElsewhere(fixture('notes'), cacheDir);
    expect(elsewhere).toEqual({ fromCache: true, key: prepared.key });
    expect(entries(cacheDir)).toEqual([prepared.key]);
  });

  it("remembers a file's key by path, size and time, so a later process need not hash it again", async () => {
    const cacheDir = tempDir();
    const file = join(tempDir(), 'print.wasm');
    writeFileSync(file, await preview1(PRINT));
    const first = await prepareComponent(file, { cacheDir });
    const [index] = readdirSync(join(cacheDir, 'files'));
    const known = JSON.parse(readFileSync(join(cacheDir, 'files', index!), 'utf8')) as {
      key: string;
      path: string;
    };
    expect(known).toMatchObject({ key: first.key, path: file });
    expect(await prepareElsewhere(file, cacheDir)).toEqual({ fromCache: true, key: first.key });

    // Other bytes (another size and time): hashed again, another entry.
    writeFileSync(file, await preview1(`${PRINT}${PRINT}`));
    const changed = await prepareElsewhere(file, cacheDir);
    expect(changed.key).not.toBe(first.key);
    expect(changed.fromCache).toBe(false);
    expect((await run({ component: file, cacheDir })).stdout).toBe('spinning\nspinning\n');
  });

  it('lets processes that transpile the same component at once all succeed', async () => {
    const cacheDir = tempDir();
    const results = await Promise.all([
      prepareElsewhere(fixture('escape'), cacheDir),
      prepareElsewhere(fixture('escape'), cacheDir),
    ]);
    expect(results[0]!.key).toBe(results[1]!.key);
    // One entry, no temporary directory left behind.
    expect(entries(cacheDir)).toEqual([results[0]!.key]);
    const result = await run({ component: fixture('escape'), args: ['escape', 'ls', '/'], cacheDir });
    expect(result.exitCode).toBe(0);
  });

  it('keys entries by content: other bytes, another entry; a preview1 module is marked', async () => {
    const cacheDir = tempDir();
    const a = await prepareComponent(await preview1(PRINT), { cacheDir });
    const b = await prepareComponent(await preview1(`${PRINT}${PRINT}`), { cacheDir });
    expect(a.preview1).toBe(true);
    expect(a.key).not.toBe(b.key);
    expect(entries(cacheDir).sort()).toEqual([a.key, b.key].sort());
    expect((await run({ component: b, cacheDir })).stdout).toBe('spinning\nspinning\n');
  });

  it('runs a prepared component', async () => {
    const prepared = await prepareComponent(fixture('notes'), { cacheDir: tempDir() });
    const store = memory();
    const result = await run({
      component: prepared,
      mounts: { '/data': store },
      args: ['notes', 'add', 'prepared'],
    });
    expect(result).toMatchObject({ status: 'exited', exitCode: 0, stdout: 'run 1: added "prepared"\n' });
  });

  it('finds the default cache directory in the environment', () => {
    expect(defaultCacheDir({ ERYX_VFS_CACHE: '/x/cache', XDG_CACHE_HOME: '/y' })).toBe('/x/cache');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/y' })).toBe('/y/eryx-vfs');
    expect(defaultCacheDir({})).toBe(join(homedir(), '.cache', 'eryx-vfs'));
  });
});

describe('the transpile cache, when things go wrong', () => {
  it('replaces a damaged entry', async () => {
    const cacheDir = tempDir();
    const first = await prepareElsewhere(fixture('notes'), cacheDir);
    rmSync(join(cacheDir, first.key, 'component.js'));
    const again = await prepareElsewhere(fixture('notes'), cacheDir);
    expect(again).toEqual({ fromCache: false, key: first.key });
    expect(existsSync(join(cacheDir, first.key, 'component.js'))).toBe(true);
    expect(
      (
        await run({
          component: fixture('notes'),
          args: ['notes', 'list'],
          mounts: { '/data': 'memory:' },
          cacheDir,
        })
      ).exitCode,
    ).toBe(0);
  });

  it('reports a cache directory it cannot write to', async () => {
    const dir = tempDir();
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, '');
    await expect(
      prepareComponent(await preview1(`${PRINT}${PRINT}${PRINT}`), { cacheDir: file }),
    ).rejects.toMatchObject({
      code: 'io',
      message: expect.stringMatching(/cannot write the transpiled component into the cache/),
    });
  });
});
