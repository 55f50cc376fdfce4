import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runInNewContext } from 'node:vm';
import { isVfsError } from '@eryx/vfs-core';
import { memory } from '@eryx/vfs-memory';
import { describe, expect, it } from 'vitest';
import { api, cacheDir, command, dec, ECHO, enc, fixture, preview1, tempDir } from './helpers.js';

const { run } = api;

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; path?: string }> {
  try {
    await promise;
  } catch (error) {
    expect(isVfsError(error), String(error)).toBe(true);
    return error as { code: string; message: string; path?: string };
  }
  throw new Error('expected a rejection');
}

describe('run: components over mounts', () => {
  it('runs a component twice over a storage object the caller keeps', async () => {
    const store = memory();
    const first = await run({
      component: fixture('notes'),
      mounts: { '/data': store },
      args: ['notes', 'add', 'hi'],
      cacheDir,
    });
    expect(first).toMatchObject({ status: 'exited', exitCode: 0, stderr: '', unstored: [] });
    expect(first.stdout).toBe('run 1: added "hi"\n');
    expect(first.durationMs).toBeGreaterThan(0);
    const second = await run({
      component: fixture('notes'),
      mounts: { '/data': store },
      args: ['notes', 'list'],
      cacheDir,
    });
    expect(second.stdout).toBe('runs so far: 1\n  1: hi\n');
    // The caller's storage holds what the guest wrote, and is still open.
    expect(dec(await store.read('/notes.txt'))).toContain('hi');
  });

  it('persists across runs on a sqlite store URL, relative to hostCwd', async () => {
    const dir = tempDir();
    const url = 'sqlite:./state.db#user-42';
    const options = { component: fixture('notes'), mounts: { '/data': url }, cacheDir, hostCwd: dir };
    expect((await run({ ...options, args: ['notes', 'add', 'one'] })).exitCode).toBe(0);
    expect((await run({ ...options, args: ['notes', 'add', 'two'] })).exitCode).toBe(0);
    const listed = await run({ ...options, args: ['notes', 'list'] });
    expect(listed.stdout).toBe('runs so far: 2\n  1: one\n  2: two\n');
    const other = await run({
      ...options,
      mounts: { '/data': 'sqlite:./state.db#someone-else' },
      args: ['notes', 'list'],
    });
    expect(other.stdout).toBe('runs so far: 0\n(no notes yet)\n');
  });

  it('gives each run a new, empty store for memory:', async () => {
    const options = { component: fixture('notes'), mounts: { '/data': 'memory:' }, cacheDir };
    expect((await run({ ...options, args: ['notes', 'add', 'gone'] })).exitCode).toBe(0);
    expect((await run({ ...options, args: ['notes', 'list'] })).stdout).toBe(
      'runs so far: 0\n(no notes yet)\n',
    );
  });

  it('mounts host directories, read-only with :ro or readOnly', async () => {
    const dir = tempDir();
    const add = (mount: unknown) =>
      run({
        component: fixture('notes'),
        mounts: { '/data': mount as string },
        args: ['notes', 'add', 'on the host'],
        cacheDir,
      });
    expect((await add(`host:${dir}`)).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toContain('on the host');
    const refused = await add(`host:${dir}:ro`);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/Read-only file system/);
    expect((await add({ source: `host:${dir}`, readOnly: true })).exitCode).toBe(1);
    const list = await run({
      component: fixture('notes'),
      mounts: { '/data': `host:${dir}:ro` },
      args: ['notes', 'list'],
      cacheDir,
    });
    expect(list.stdout).toBe('runs so far: 1\n  1: on the host\n');
  });

  it('mounts a storage object read-only with { source, readOnly }, beside another mount', async () => {
    const store = memory();
    await store.write('/greeting.txt', enc('hello from the store'));
    const config = memory();
    await config.mkdir('/etc');
    const result = await run({
      component: fixture('escape'),
      mounts: { '/data': { source: store, readOnly: true }, '/config': config },
      args: ['escape', 'cat', '/data/greeting.txt'],
      cacheDir,
    });
    expect(result).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(result.stdout).toContain('hello from the store');
    const listing = await run({
      component: fixture('escape'),
      mounts: { '/data': store, '/config': config },
      args: ['escape', 'ls', '/'],
      cacheDir,
    });
    expect(listing.stdout).toBe('/ =config,data\n');
    const refused = await run({
      component: fixture('notes'),
      mounts: { '/data': { source: store, readOnly: true } },
      args: ['notes', 'add', 'no'],
      cacheDir,
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/Read-only file system/);
    expect(await store.exists('/notes.txt')).toBe(false);
  });

  it('streams stdout and stderr to the callbacks as the guest writes them', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const result = await run({
      component: fixture('notes'),
      mounts: { '/data': memory() },
      args: ['notes', 'frobnicate'],
      onStdout: (chunk) => out.push(dec(chunk)),
      onStderr: (chunk) => err.push(dec(chunk)),
      cacheDir,
    });
    expect(result.status).toBe('exited');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^usage: notes add/);
    expect(err.join('')).toBe(result.stderr);
    expect(out.join('')).toBe(result.stdout);
  });

  it('feeds stdin from a string, bytes, or a stream read as the guest asks', async () => {
    const echo = await preview1(ECHO);
    expect((await run({ component: echo, stdin: 'from a string', cacheDir })).stdout).toBe('from a string');
    expect((await run({ component: echo, stdin: enc('from bytes'), cacheDir })).stdout).toBe('from bytes');
    // Bytes made in another realm (a vm context) fail instanceof, but are bytes all the same.
    const foreign = runInNewContext('(s) => Uint8Array.from(s, (c) => c.charCodeAt(0))')(
      'foreign bytes',
    ) as Uint8Array;
    expect((await run({ component: echo, stdin: foreign, cacheDir })).stdout).toBe('foreign bytes');
    const foreignComponent = runInNewContext('(b) => new Uint8Array(b)')(echo) as Uint8Array;
    expect((await run({ component: foreignComponent, stdin: 'component', cacheDir })).stdout).toBe(
      'component',
    );
    expect((await run({ component: echo, cacheDir })).stdout).toBe('');

    const stream = new PassThrough();
    const seen: string[] = [];
    const running = run({
      component: echo,
      stdin: stream,
      cacheDir,
      onStdout: (chunk) => seen.push(dec(chunk)),
    });
    stream.write('first line\n');
    // The guest echoes what it got before the rest arrives: stdin is streamed, not collected.
    await expect.poll(() => seen.join(''), { timeout: 20_000 }).toBe('first line\n');
    const big = 'x'.repeat(200_000);
    stream.write(big);
    stream.end('\nlast line\n');
    const result = await running;
    expect(result.status).toBe('exited');
    expect(result.stdout).toBe(`first line\n${big}\nlast line\n`);
  });

  it('leaves a stdin stream open and readable when the run ends', async () => {
    const stream = new PassThrough();
    stream.write('unread');
    const result = await run({
      component: fixture('notes'),
      mounts: { '/data': memory() },
      args: ['notes', 'list'],
      stdin: stream,
      cacheDir,
    });
    expect(result.exitCode).toBe(0);
    expect(stream.destroyed).toBe(false);
    stream.end('!');
    const rest: string[] = [];
    for await (const chunk of stream) rest.push(String(chunk));
    expect(rest.join('')).toMatch(/!$/);
  });

  it('runs notes import over streamed stdin', async () => {
    const store = memory();
    const stdin = new PassThrough();
    stdin.end('alpha\nbeta\n');
    const imported = await run({
      component: fixture('notes'),
      mounts: { '/data': store },
      args: ['notes', 'import'],
      stdin,
      cacheDir,
    });
    expect(imported.exitCode).toBe(0);
    const listed = await run({
      component: fixture('notes'),
      mounts: { '/data': store },
      args: ['notes', 'list'],
      cacheDir,
    });
    expect(listed.stdout).toContain('alpha');
    expect(listed.stdout).toContain('beta');
  });
});

describe('run: preview1 modules, exit codes and traps', () => {
  it('wraps a preview1 module with the adapter and reports its exit status', async () => {
    const ok = await run({ component: await preview1('(call $proc_exit (i32.const 0))'), cacheDir });
    expect(ok).toMatchObject({ status: 'exited', exitCode: 0 });
    const returned = await run({ component: await preview1('(nop)'), cacheDir });
    expect(returned).toMatchObject({ status: 'exited', exitCode: 0 });
    // jco's preview1 adapter reports every non-zero status as 1.
    const failed = await run({ component: await preview1('(call $proc_exit (i32.const 3))'), cacheDir });
    expect(failed).toMatchObject({ status: 'exited', exitCode: 1 });
  });

  it('reports a component whose run returns its error as exit status 1', async () => {
    expect(await run({ component: await command(false), cacheDir })).toMatchObject({
      status: 'exited',
      exitCode: 0,
    });
    const failed = await run({ component: await command(true), cacheDir });
    expect(failed).toMatchObject({ status: 'exited', exitCode: 1 });
    expect(failed.error).toBeUndefined();
  });

  it('reports a callback that throws as a failure of the run, without crashing the caller', async () => {
    const result = await run({
      component: fixture('notes'),
      mounts: { '/data': memory() },
      args: ['notes', 'list'],
      onStdout: () => {
        throw new Error('callback failed');
      },
      cacheDir,
    });
    expect(result.status).toBe('trapped');
    expect(result.error).toBe('onStdout/onStderr threw: callback failed');
  });

  it('reports a trap with its message and leaves the caller and its storage usable', async () => {
    const store = memory();
    await store.write('/kept', enc('kept'));
    const trapped = await run({
      component: await preview1('(unreachable)'),
      mounts: { '/data': store },
      cacheDir,
    });
    expect(trapped.status).toBe('trapped');
    expect(trapped.exitCode).toBe(1);
    expect(trapped.error).toMatch(/unreachable/);
    expect(dec(await store.read('/kept'))).toBe('kept');
    const after = await run({
      component: fixture('notes'),
      mounts: { '/data': store },
      args: ['notes', 'add', 'x'],
      cacheDir,
    });
    expect(after.exitCode).toBe(0);
  });
});

describe('run: concurrency', () => {
  it('runs several guests at once on one sqlite store and on one storage object', async () => {
    const dir = tempDir();
    const sqliteUrl = `sqlite:${join(dir, 'shared.db')}#ns`;
    const shared = memory();
    const add = (mount: string | typeof shared, text: string) =>
      run({
        component: fixture('notes'),
        mounts: { '/data': mount },
        args: ['notes', 'add', text],
        cacheDir,
      });
    const results = await Promise.all([
      add(sqliteUrl, 'a'),
      add(sqliteUrl, 'b'),
      add(shared, 'c'),
      add(shared, 'd'),
    ]);
    for (const result of results) expect(result).toMatchObject({ status: 'exited', exitCode: 0 });
    for (const [mount, notes] of [
      [sqliteUrl, ['a', 'b']],
      [shared, ['c', 'd']],
    ] as const) {
      const listed = await run({
        component: fixture('notes'),
        mounts: { '/data': mount },
        args: ['notes', 'list'],
        cacheDir,
      });
      for (const note of notes) expect(listed.stdout).toContain(`: ${note}\n`);
    }
  });
});

describe('run: bad inputs reject with a VfsError', () => {
  it('rejects what is not WebAssembly, a missing file, and bad options', async () => {
    const notWasm = await rejection(run({ component: enc('hello, world'), cacheDir }));
    expect(notWasm.code).toBe('invalid-argument');
    expect(notWasm.message).toMatch(/is not a WebAssembly component or module/);

    const dir = tempDir();
    const text = join(dir, 'readme.txt');
    writeFileSync(text, 'not a component');
    const named = await rejection(run({ component: text, cacheDir }));
    expect(named.message).toContain(`${text} is not a WebAssembly component or module`);

    const missing = await rejection(run({ component: join(dir, 'missing.wasm'), cacheDir }));
    expect(missing.code).toBe('not-found');
    expect(missing.path).toBe(join(dir, 'missing.wasm'));

    expect((await rejection(run({ component: fixture('notes'), timeout: -1, cacheDir }))).code).toBe(
      'invalid-argument',
    );
  });

  it('rejects bad mounts, naming the mount', async () => {
    const notes = fixture('notes');
    const bad = await rejection(run({ component: notes, mounts: { '/data': 'ftp://somewhere' }, cacheDir }));
    expect(bad.code).toBe('invalid-argument');
    expect(bad.message).toMatch(/mount \/data/);

    const relative = await rejection(run({ component: notes, mounts: { data: 'memory:' }, cacheDir }));
    expect(relative.code).toBe('invalid-path');

    const dir = tempDir();
    const noDir = await rejection(
      run({ component: notes, mounts: { '/data': `host:${join(dir, 'nope')}` }, cacheDir }),
    );
    expect(noDir.code).toBe('not-found');

    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'file'), '');
    const notDir = await rejection(
      run({ component: notes, mounts: { '/data': `host:${join(dir, 'file')}` }, cacheDir }),
    );
    expect(notDir.code).toBe('not-a-directory');

    const weird = await rejection(
      run({ component: notes, mounts: { '/data': 42 as unknown as string }, cacheDir }),
    );
    expect(weird.code).toBe('invalid-argument');
  });

  it('rejects a store that cannot be opened in the worker', async () => {
    const dir = tempDir();
    // A sqlite file in a directory that does not exist cannot be created.
    const error = await rejection(
      run({
        component: fixture('notes'),
        mounts: { '/data': `sqlite:${join(dir, 'no', 'such', 'dir.db')}` },
        cacheDir,
      }),
    );
    expect(error.code).toBe('io');
    expect(error.message).toMatch(
      /^io: mount \/data \(sqlite:.*dir\.db\): Cannot open database because the directory does not exist/,
    );
  });
});
