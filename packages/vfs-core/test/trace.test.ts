import { describe, expect, it } from 'vitest';
import {
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkLink,
  checkMkdir,
  checkReadlink,
  checkRename,
  checkRmdir,
  checkSymlink,
  createStorage,
  createSyncStorage,
  type DirEntry,
  formatTraceEvent,
  isVfsError,
  type Kind,
  parentPath,
  STORAGE_OPERATIONS,
  type StorageOperation,
  type TraceEvent,
  type TraceOptions,
  toAsync,
  trace,
  VfsError,
  type VfsStorage,
  type VfsSyncDriver,
  type VfsSyncStorage,
} from '../src/index.js';

const enc = (s: string) => new TextEncoder().encode(s);

/**
 * A small synchronous driver (files, links and directories in Maps) with the contract's error
 * rules.
 */
function mapDriver(): VfsSyncDriver {
  const files = new Map<string, Uint8Array>();
  const links = new Map<string, string>();
  const dirs = new Set(['/']);
  const kind = (p: string): Kind =>
    files.has(p) ? 'file' : links.has(p) ? 'symlink' : dirs.has(p) ? 'directory' : undefined;
  const size = (p: string) => files.get(p)?.length ?? Buffer.byteLength(links.get(p) ?? '');
  const children = (p: string) =>
    [...dirs, ...files.keys(), ...links.keys()].filter((q) => q !== '/' && parentPath(q) === p && q !== p);
  const store = (p: string, content: Uint8Array) => {
    checkFileTarget(p, kind(p), kind(parentPath(p)));
    files.set(p, content);
  };
  return {
    read(p) {
      checkExistingFile(p, kind(p));
      return files.get(p)!.slice();
    },
    readAt(p, offset, length) {
      checkExistingFile(p, kind(p));
      return files.get(p)!.slice(offset, offset + length);
    },
    write: (p, data) => store(p, data.slice()),
    writeAt(p, offset, data) {
      const old = files.get(p) ?? new Uint8Array(0);
      const next = new Uint8Array(Math.max(old.length, offset + data.length));
      next.set(old);
      next.set(data, offset);
      store(p, next);
    },
    setSize(p, size) {
      checkExistingFile(p, kind(p));
      const next = new Uint8Array(size);
      next.set(files.get(p)!.subarray(0, size));
      files.set(p, next);
    },
    stat(p) {
      const k = kind(p);
      checkExists(p, k);
      return { kind: k, size: size(p), created: 1, modified: 2, accessed: 3 };
    },
    list(p): DirEntry[] {
      checkExistingDirectory(p, kind(p));
      return children(p).map((q) => ({
        name: q.slice(q.lastIndexOf('/') + 1),
        kind: kind(q)!,
        size: size(q),
      }));
    },
    exists: (p) => kind(p) !== undefined,
    mkdir(p) {
      checkMkdir(p, kind(p), kind(parentPath(p)));
      dirs.add(p);
    },
    rmdir(p) {
      checkRmdir(p, kind(p), children(p).length > 0);
      dirs.delete(p);
    },
    delete(p) {
      checkDelete(p, kind(p));
      files.delete(p);
      links.delete(p);
    },
    rename(from, to) {
      const source = kind(from);
      if (checkRename(from, to, source, kind(to), kind(parentPath(to))) === 'noop') return;
      if (source === 'directory')
        throw new VfsError('unsupported', 'test driver: files only', { path: from });
      // A file or a link replaces a file or a link.
      if (source === 'symlink') {
        files.delete(to);
        links.set(to, links.get(from)!);
        links.delete(from);
      } else {
        links.delete(to);
        files.set(to, files.get(from)!);
        files.delete(from);
      }
    },
    setTimes(p) {
      checkExists(p, kind(p));
    },
    symlink(p, target) {
      checkSymlink(p, kind(p), kind(parentPath(p)));
      links.set(p, target);
    },
    readlink(p) {
      checkReadlink(p, kind(p));
      return links.get(p)!;
    },
    // Tracing needs the call only: the new name gets a copy (the names do not share later writes).
    link(from, to) {
      checkLink(from, to, kind(from), kind(to), kind(parentPath(to)));
      if (links.has(from)) links.set(to, links.get(from)!);
      else files.set(to, files.get(from)!.slice());
    },
  };
}

/** A store with `/d/f` (`hello`), a link `/d/k` to it and an empty `/e`, set up before tracing. */
function seeded(): VfsSyncStorage {
  const s = createSyncStorage(mapDriver());
  s.mkdir('/d');
  s.write('/d/f', enc('hello'));
  s.symlink('/d/k', 'f');
  s.mkdir('/e');
  return s;
}

/** One valid call of each operation on a {@link seeded} store, and the bytes it moves. */
const CALLS: { [K in StorageOperation]: { args: unknown[]; bytes?: number } } = {
  read: { args: ['/d/f'], bytes: 5 },
  readAt: { args: ['/d/f', 1, 3], bytes: 3 },
  write: { args: ['/d/g', enc('four')], bytes: 4 },
  writeAt: { args: ['/d/f', 4, enc('abc')], bytes: 3 },
  writeExtents: {
    args: [
      '/d/f',
      [
        [1, enc('ab')],
        [7, enc('c')],
      ],
    ],
    bytes: 3,
  },
  append: { args: ['/d/f', enc('!!')], bytes: 2 },
  create: { args: ['/d/new'] },
  setSize: { args: ['/d/f', 2] },
  stat: { args: ['/d/f'] },
  list: { args: ['/d'] },
  exists: { args: ['/nope'] },
  mkdir: { args: ['/d/sub'] },
  rmdir: { args: ['/e'] },
  delete: { args: ['/d/f'] },
  rename: { args: ['/d/f', '/d/h'] },
  setTimes: { args: ['/d/f', { modified: 5 }] },
  symlink: { args: ['/d/l', '../d/f'] },
  readlink: { args: ['/d/k'] },
  link: { args: ['/d/f', '/d/hard'] },
};

type Invoke = (...args: unknown[]) => unknown;

/**
 * The forms a traced store is used in: `make` wraps a seeded store in that form and returns the
 * traced object and the members to call (whose results are awaited).
 */
const FORMS: {
  name: string;
  sync: boolean;
  make(options: TraceOptions): VfsStorage | VfsSyncStorage;
}[] = [
  { name: 'async form, with a sync twin', sync: false, make: (o) => trace(toAsync(seeded()), o) },
  { name: 'sync twin of a VfsStorage', sync: true, make: (o) => trace(toAsync(seeded()), o).sync! },
  { name: 'VfsSyncStorage', sync: true, make: (o) => trace(seeded(), o) },
  {
    name: 'async only (createStorage)',
    sync: false,
    make: (o) => trace(createStorage(asyncDriver(seeded())), o),
  },
];

/** An asynchronous driver over a sync storage: the async-only form, whose promises settle later. */
function asyncDriver(inner: VfsSyncStorage) {
  const out: Record<string, unknown> = {};
  for (const op of STORAGE_OPERATIONS) {
    out[op] = async (...args: unknown[]) => {
      await new Promise((resolve) => setImmediate(resolve));
      return (inner[op] as Invoke).apply(inner, args);
    };
  }
  return out as unknown as Parameters<typeof createStorage>[0];
}

function recorder(): { events: TraceEvent[]; options: TraceOptions } {
  const events: TraceEvent[] = [];
  return { events, options: { onCall: (event) => events.push(event) } };
}

/** Calls `op` and returns how it ended; checks that a sync form never returns a promise. */
async function run(storage: object, op: StorageOperation, args: unknown[], sync: boolean) {
  try {
    const result = ((storage as Record<string, Invoke>)[op] as Invoke)(...args);
    expect(result instanceof Promise, `${op} returned a promise`).toBe(!sync);
    return { ok: true as const, value: await result };
  } catch (error) {
    return { ok: false as const, error };
  }
}

describe.each(FORMS)('trace: $name', ({ sync, make }) => {
  it('reports one event per call of every operation, with its fields, and changes no result', async () => {
    for (const op of STORAGE_OPERATIONS) {
      const { args, bytes } = CALLS[op];
      const { events, options } = recorder();
      const traced = make(options);
      const before = performance.now();
      const got = await run(traced, op, args, sync);
      const after = performance.now();
      const expected = await run(seeded(), op, args, true);
      expect(got, op).toEqual(expected);
      expect(events.length, `${op}: events`).toBe(1);
      const event = events[0]!;
      expect(event, op).toEqual({
        operation: op,
        path: args[0],
        to: op === 'rename' || op === 'link' ? args[1] : undefined,
        startTime: expect.any(Number),
        durationMs: expect.any(Number),
        outcome: 'ok',
        error: undefined,
        bytes,
      });
      expect(event.startTime, op).toBeGreaterThanOrEqual(before);
      expect(event.durationMs, op).toBeGreaterThanOrEqual(0);
      expect(event.startTime + event.durationMs, op).toBeLessThanOrEqual(after);
    }
  });

  it('reports failures with the error, and rethrows that same error', async () => {
    const cases: [StorageOperation, unknown[], string][] = [
      ['read', ['/missing'], 'not-found'],
      ['readAt', ['/d', 0, 1], 'is-a-directory'],
      ['write', ['/no/such/dir', enc('x')], 'not-found'],
      ['append', ['/d/f', 'not bytes'], 'invalid-argument'],
      ['stat', ['relative'], 'invalid-path'],
      ['rename', ['/d/f', '/e'], 'is-a-directory'],
      ['rmdir', ['/'], 'busy'],
      ['symlink', ['/d/f', 'x'], 'already-exists'],
      ['readlink', ['/d/f'], 'invalid-argument'],
      ['read', ['/d/k'], 'is-a-symlink'],
    ];
    for (const [op, args, code] of cases) {
      const { events, options } = recorder();
      const got = await run(make(options), op, args, sync);
      expect(got.ok, op).toBe(false);
      const error = (got as { error: unknown }).error;
      expect(isVfsError(error, code as never), `${op}: ${String(error)}`).toBe(true);
      expect(events.length, op).toBe(1);
      expect(events[0], op).toMatchObject({
        operation: op,
        path: args[0],
        outcome: 'error',
        bytes: undefined,
      });
      expect(events[0]!.error, op).toBe(error);
      expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
      if (op === 'rename') expect(events[0]!.to).toBe('/e');
    }
  });

  it('keeps results when the listener throws or rejects, and reports that to onListenerError', async () => {
    const failures: [unknown, TraceEvent][] = [];
    const boom = new Error('listener failed');
    let calls = 0;
    const traced = make({
      onCall: () => {
        calls++;
        if (calls % 2) throw boom;
        return Promise.reject(boom);
      },
      onListenerError: (error, event) => failures.push([error, event]),
    });
    expect(await run(traced, 'read', ['/d/f'], sync)).toEqual({ ok: true, value: enc('hello') });
    expect(await run(traced, 'append', ['/d/f', enc('!')], sync)).toEqual({ ok: true, value: 5 });
    const missing = await run(traced, 'stat', ['/missing'], sync);
    expect(isVfsError((missing as { error: unknown }).error, 'not-found')).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map(([error, event]) => [error, event.operation])).toEqual([
      [boom, 'read'],
      [boom, 'append'],
      [boom, 'stat'],
    ]);
  });

  it('ignores an onListenerError that throws too', async () => {
    const traced = make({
      onCall: () => {
        throw new Error('listener');
      },
      onListenerError: () => {
        throw new Error('and its error handler');
      },
    });
    expect(await run(traced, 'exists', ['/d/f'], sync)).toEqual({ ok: true, value: true });
  });

  it('passes capabilities, limits and close through', async () => {
    const inner = toAsync(seeded());
    const limited = { ...inner, limits: { maxFiles: 7 } };
    const traced = trace(limited, recorder().options);
    expect(traced.capabilities).toBe(inner.capabilities);
    expect(traced.limits).toEqual({ maxFiles: 7 });
    const { events, options } = recorder();
    const form = make(options);
    await form.close();
    const after = await run(form, 'exists', ['/d'], sync);
    expect(isVfsError((after as { error: unknown }).error, 'io')).toBe(true);
    expect(events.map((e) => [e.operation, e.outcome])).toEqual([['exists', 'error']]);
  });
});

describe('trace: timing', () => {
  it('times an async call until its promise settles', async () => {
    const slow = createStorage({
      ...asyncDriver(seeded()),
      stat: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { kind: 'file', size: 0, created: 0, modified: 0, accessed: 0 };
      },
    });
    const { events, options } = recorder();
    const traced = trace(slow, options);
    const pending = traced.stat('/x');
    expect(events).toEqual([]); // nothing reported before it settles
    await pending;
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(25);
  });

  it('times a sync call while it runs', () => {
    const driver = mapDriver();
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const slow = createSyncStorage({
      ...driver,
      exists: (p) => {
        spin(10);
        return driver.exists(p);
      },
    });
    const { events, options } = recorder();
    trace(slow, options).exists('/');
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(10);
    expect(events[0]!.durationMs).toBeLessThan(1000);
  });

  it('reports concurrent async calls each once, with their own paths', async () => {
    const { events, options } = recorder();
    const traced = trace(createStorage(asyncDriver(seeded())), options);
    const paths = Array.from({ length: 20 }, (_, i) => `/d/c${i}`);
    await Promise.all(paths.map((p, i) => traced.write(p, new Uint8Array(i))));
    expect(events.map((e) => [e.path, e.bytes]).sort()).toEqual(paths.map((p, i) => [p, i]).sort());
  });
});

describe('trace: the shape of the result', () => {
  it('keeps the form: a VfsStorage keeps a (traced) sync key, a VfsSyncStorage gets none', async () => {
    const asyncOnly = trace(createStorage(asyncDriver(seeded())), recorder().options);
    expect('sync' in asyncOnly && asyncOnly.sync === undefined).toBe(true);
    const plain = trace(seeded(), recorder().options);
    expect('sync' in plain).toBe(false);
    const { events, options } = recorder();
    const both = trace(toAsync(seeded()), options);
    both.sync!.exists('/d');
    await both.exists('/e');
    expect(events.map((e) => e.path)).toEqual(['/d', '/e']);
  });

  it('traces readAtView as readAt and passes flush through', () => {
    const flushes: unknown[][] = [];
    const driver = mapDriver();
    const inner = createSyncStorage({
      ...driver,
      readAtView: (p, o, l) => driver.readAt(p, o, l),
      flush: (p, o) => {
        flushes.push([p, o]);
      },
    });
    inner.write('/f', enc('abcdef'));
    const { events, options } = recorder();
    const traced = trace(inner, options);
    expect(traced.readAtView!('/f', 2, 10)).toEqual(enc('cdef'));
    traced.flush!('/f', { durable: true });
    expect(flushes).toEqual([['/f', { durable: true }]]);
    expect(events).toMatchObject([{ operation: 'readAt', path: '/f', bytes: 4, outcome: 'ok' }]);
    const without = trace(seeded(), options);
    expect(without.readAtView).toBeUndefined();
    expect(without.flush).toBeUndefined();
  });

  it("keeps a mount's read-only flag, which the WASI host reads", () => {
    const mount = Object.assign(seeded(), { readOnly: true });
    expect((trace(mount, recorder().options) as { readOnly?: boolean }).readOnly).toBe(true);
    expect('readOnly' in trace(seeded(), recorder().options)).toBe(false);
  });

  it('refuses options without an onCall function', () => {
    for (const bad of [undefined, {}, { onCall: 'x' }, { onCall: () => {}, onListenerError: 1 }]) {
      let error: unknown;
      try {
        trace(seeded(), bad as unknown as TraceOptions);
      } catch (e) {
        error = e;
      }
      expect(isVfsError(error, 'invalid-argument'), JSON.stringify(bad)).toBe(true);
    }
  });
});

describe('formatTraceEvent', () => {
  const event = (fields: Partial<TraceEvent>): TraceEvent => ({
    operation: 'stat',
    path: '/data/a.txt',
    startTime: 0,
    durationMs: 0.2134,
    outcome: 'ok',
    ...fields,
  });

  it('prints operation, path, duration, outcome and bytes on one line', () => {
    expect(formatTraceEvent(event({}))).toBe('stat /data/a.txt 0.21 ms ok');
    expect(
      formatTraceEvent(
        event({
          operation: 'read',
          path: '/x',
          durationMs: 1,
          outcome: 'error',
          error: new VfsError('not-found'),
        }),
      ),
    ).toBe('read /x 1.0 ms not-found');
    expect(formatTraceEvent(event({ operation: 'readAt', durationMs: 153.4, bytes: 4096 }))).toBe(
      'readAt /data/a.txt 153 ms ok 4096 B',
    );
    expect(formatTraceEvent(event({ operation: 'rename', path: '/a', to: '/b c' }))).toBe(
      'rename /a -> "/b c" 0.21 ms ok',
    );
    expect(formatTraceEvent(event({ path: '/new\nline' }))).toBe('stat "/new\\nline" 0.21 ms ok');
    expect(formatTraceEvent(event({ outcome: 'error', error: new TypeError('x') }))).toBe(
      'stat /data/a.txt 0.21 ms TypeError',
    );
    expect(formatTraceEvent(event({ outcome: 'error', error: 42 }))).toBe('stat /data/a.txt 0.21 ms error');
  });

  it('formats what trace reports', async () => {
    const lines: string[] = [];
    const traced = trace(toAsync(seeded()), { onCall: (e) => lines.push(formatTraceEvent(e)) });
    await traced.read('/d/f');
    await traced.read('/zz').catch(() => undefined);
    expect(lines[0]).toMatch(/^read \/d\/f \d[\d.]* ms ok 5 B$/);
    expect(lines[1]).toMatch(/^read \/zz \d[\d.]* ms not-found$/);
  });
});
