import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncBridge, SyncBridgeOptions } from '../src/bridge/index.js';
import type { StorageLimits } from '../src/index.js';
import type { Descriptor } from '../src/wasi/filesystem.js';
import { ensureDist } from './build-dist.js';

// Issue #18, class 3: a flush error belongs to the file (not its path) and reaches the next
// fsync/close of any of its descriptors; a write the store's declared limits refuse is refused at
// write time. The bridge's worker loads the built package, so these tests use it throughout.
ensureDist();
const core = (await import(
  new URL('../dist/index.js', import.meta.url).href
)) as typeof import('../src/index.js');
const { isVfsError } = core;
const { createSyncBridge } = (await import(
  new URL('../dist/bridge/index.js', import.meta.url).href
)) as typeof import('../src/bridge/index.js');
const { createWasiHost } = (await import(
  new URL('../dist/wasi/index.js', import.meta.url).href
)) as typeof import('../src/wasi/index.js');

const COUNTER_OPS = 0;
const COUNTER_WRITES = 1;
// Writes at an offset > 0 to paths starting with /__quota fail with quota-exceeded: a store that
// refuses only when the bridge stores (it declares no limit the bridge could check first).
const mapModule = fileURLToPath(new URL('./fixtures/async-map-backend.mjs', import.meta.url));
const limitedModule = fileURLToPath(new URL('./fixtures/limited-map-backend.mjs', import.meta.url));

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

const open: SyncBridge[] = [];
afterEach(() => {
  for (const b of open.splice(0)) {
    try {
      b.close();
    } catch {
      // A test that leaves a failure unreported sees it elsewhere.
    }
  }
});

/** A bridge over the map backend (refusing only at flush under /__quota). */
function mapBridge(options: SyncBridgeOptions = {}, backend: object = {}): SyncBridge {
  const b = createSyncBridge({ module: mapModule, export: 'mapBackend', options: backend }, options);
  open.push(b);
  return b;
}

/** A bridge over a store that declares `limits`. */
function limitedBridge(limits: StorageLimits, options: SyncBridgeOptions = {}, backend: object = {}) {
  const b = createSyncBridge(
    { module: limitedModule, export: 'limitedMap', options: { ...backend, limits } },
    options,
  );
  open.push(b);
  return b;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function expectCode(fn: () => unknown, code: string, path?: string): void {
  const error = caught(fn) as { code: string; path?: string };
  expect(isVfsError(error), String(error)).toBe(true);
  expect(error.code).toBe(code);
  if (path !== undefined) expect(error.path).toBe(path);
}

describe('sync bridge: limits refuse at write time', { timeout: 60_000 }, () => {
  it('declares the limits of the store it serves', () => {
    const b = limitedBridge({ maxBytes: 1000, maxFiles: 10, maxFileSize: 500 });
    expect(b.limits).toMatchObject({ maxBytes: 1000, maxFiles: 10, maxFileSize: 500 });
  });

  it('refuses the write that passes maxBytes, keeps what fit, through a rename and an fsync', () => {
    const b = limitedBridge({ maxBytes: 100 });
    b.write('/f', new Uint8Array(0));
    const data = pattern(120);
    for (const at of [0, 30, 60]) b.writeAt('/f', at, data.subarray(at, at + 30));
    // 120 bytes do not fit in 100: the write itself is refused, not a later flush.
    expectCode(() => b.writeAt('/f', 90, data.subarray(90, 120)), 'quota-exceeded');
    b.rename('/f', '/g');
    b.flush('/g', { durable: true });
    expect(b.stat('/g').size).toBe(90);
    expect(Buffer.compare(b.read('/g'), data.subarray(0, 90))).toBe(0);
    b.flush();
  });

  it('refuses the write that passes maxFileSize', () => {
    const b = limitedBridge({ maxFileSize: 50 });
    b.write('/f', enc('0123456789'));
    b.writeAt('/f', 10, pattern(30));
    expectCode(() => b.writeAt('/f', 40, pattern(20)), 'quota-exceeded');
    b.flush('/f');
    expect(b.stat('/f').size).toBe(40);
  });

  it('still buffers overwrites on a limited store, and growth on an unlimited one', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const b = limitedBridge({ maxBytes: 1000 }, {}, { counters });
    b.write('/f', pattern(100));
    const ops = c[COUNTER_OPS]!;
    for (let i = 0; i < 50; i++) b.writeAt('/f', i * 2, enc('x'));
    expect(c[COUNTER_OPS]).toBe(ops);
    b.writeAt('/f', 100, enc('grows'));
    expect(c[COUNTER_WRITES]).toBeGreaterThan(1);
    b.flush('/f');
    expect(b.stat('/f').size).toBe(105);

    const unlimitedCounters = new SharedArrayBuffer(64);
    const u = new Int32Array(unlimitedCounters);
    const plain = mapBridge({}, { counters: unlimitedCounters });
    plain.write('/f', pattern(100));
    const before = u[COUNTER_OPS]!;
    for (let i = 0; i < 50; i++) plain.writeAt('/f', 100 + i, enc('y'));
    expect(u[COUNTER_OPS]).toBe(before);
  });
});

describe('sync bridge: a flush failure belongs to the file', { timeout: 60_000 }, () => {
  it('follows the file through a rename, and is reported under its new name', () => {
    const b = mapBridge();
    b.write('/__quota-a', enc('x'));
    b.writeAt('/__quota-a', 1, enc('buffered'));
    // The rename stores the buffered writes first; the store refuses them.
    b.rename('/__quota-a', '/__quota-b');
    expectCode(() => b.flush('/__quota-b'), 'quota-exceeded', '/__quota-b');
    expect(dec(b.read('/__quota-b'))).toBe('x');
    // Reported once.
    b.flush('/__quota-b');
    b.flush('/__quota-a');
    b.flush();
  });

  it('follows files through the rename of their directory', () => {
    const b = mapBridge();
    b.mkdir('/__quota-d');
    b.write('/__quota-d/f', enc('x'));
    b.writeAt('/__quota-d/f', 1, enc('y'));
    b.rename('/__quota-d', '/__quota-e');
    expectCode(() => b.flush('/__quota-e/f'), 'quota-exceeded', '/__quota-e/f');
    b.flush();
  });

  it('follows a failure of a background store (dirty limit) through a rename', () => {
    const b = mapBridge({ dirtyBytes: 64 });
    b.write('/__quota-a', enc('x'));
    b.writeAt('/__quota-a', 1, enc('buffered'));
    b.write('/g', new Uint8Array(0));
    for (let i = 0; i < 10; i++) b.writeAt('/g', i * 10, pattern(10, i));
    b.rename('/__quota-a', '/__quota-b');
    expectCode(() => b.flush('/__quota-b'), 'quota-exceeded', '/__quota-b');
    b.flush();
  });

  it('is dropped with the file when the file is deleted or replaced', () => {
    const b = mapBridge();
    b.write('/__quota-a', enc('x'));
    b.writeAt('/__quota-a', 1, enc('y'));
    b.write('/__quota-c', enc('x'));
    b.writeAt('/__quota-c', 1, enc('y'));
    b.rename('/__quota-a', '/__quota-b');
    b.delete('/__quota-b');
    b.write('/other', enc('z'));
    b.rename('/__quota-c', '/tmp-c');
    b.rename('/other', '/tmp-c');
    b.flush();
  });

  it('flush() reports the failures of every file, at once', () => {
    const b = mapBridge();
    for (const name of ['/__quota-1', '/__quota-2']) {
      b.write(name, enc('x'));
      b.writeAt(name, 1, enc('y'));
    }
    const error = caught(() => b.flush()) as Error & { code: string };
    expect(error.code).toBe('quota-exceeded');
    expect(error.message).toContain('/__quota-1');
    expect(error.message).toContain('/__quota-2');
    // Nothing is left over for a later flush to report as if it were new.
    b.flush();
  });
});

// --- through the WASI host ----------------------------------------------------------------------

/** The error code a descriptor method failed with (jco lowers the thrown string). */
function wasiCode(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return 'ok';
}

function host(storage: SyncBridge) {
  const h = createWasiHost({ mounts: { '/data': storage } });
  const getDirectories = h.imports['wasi:filesystem/preopens']!.getDirectories as () => Array<
    [Descriptor, string]
  >;
  const [[root]] = getDirectories() as [[Descriptor, string]];
  const openFile = (path: string) => root.openAt({}, path, { create: true }, { read: true, write: true });
  return { host: h, root, openFile };
}

describe('WASI host over the sync bridge: flush errors reach the descriptors', { timeout: 60_000 }, () => {
  it('a write past maxBytes fails with insufficient-space; what fit is stored', () => {
    const b = limitedBridge({ maxBytes: 100 });
    const { host: h, root, openFile } = host(b);
    const fd = openFile('f');
    const data = pattern(120);
    for (const at of [0, 30, 60]) expect(fd.write(data.subarray(at, at + 30), BigInt(at))).toBe(30n);
    expect(wasiCode(() => fd.write(data.subarray(90, 120), 90n))).toBe('insufficient-space');
    root.renameAt('f', root, 'g');
    expect(wasiCode(() => fd.sync())).toBe('ok');
    fd[Symbol.dispose]();
    h.close();
    expect(Buffer.compare(b.read('/g'), data.subarray(0, 90))).toBe(0);
  });

  it('fsync of a renamed file reports the refusal of its buffered writes', () => {
    const b = mapBridge();
    const { host: h, root, openFile } = host(b);
    const fd = openFile('__quota-a');
    fd.write(enc('x'), 0n);
    fd.sync();
    fd.write(enc('buffered'), 1n);
    root.renameAt('__quota-a', root, '__quota-b');
    expect(wasiCode(() => fd.sync())).toBe('insufficient-space');
    // Once per descriptor, as Linux reports a writeback error once per open file.
    expect(wasiCode(() => fd.sync())).toBe('ok');
    fd[Symbol.dispose]();
    // The guest was told: the host does not report it again.
    h.close();
  });

  it('reaches the fsync of every descriptor of the file, once each', () => {
    const b = mapBridge();
    const { host: h, root, openFile } = host(b);
    const one = openFile('__quota-a');
    one.write(enc('x'), 0n);
    one.sync();
    const two = openFile('__quota-a');
    one.write(enc('buffered'), 1n);
    root.renameAt('__quota-a', root, '__quota-b');
    expect(wasiCode(() => two.sync())).toBe('insufficient-space');
    expect(wasiCode(() => one.sync())).toBe('insufficient-space');
    expect(wasiCode(() => one.sync())).toBe('ok');
    expect(wasiCode(() => two.sync())).toBe('ok');
    one[Symbol.dispose]();
    two[Symbol.dispose]();
    h.close();
  });

  it('a file closed unsynced under its new name reports the failure from host.close(), once', () => {
    const b = mapBridge();
    const { host: h, root, openFile } = host(b);
    const fd = openFile('__quota-a');
    fd.write(enc('x'), 0n);
    fd.sync();
    fd.write(enc('buffered'), 1n);
    root.renameAt('__quota-a', root, '__quota-b');
    fd[Symbol.dispose]();
    expectCode(() => h.close(), 'quota-exceeded', '/__quota-b');
    h.close();
  });

  it('follows a file unlinked while open into its orphan, and goes with it at its last close', () => {
    const b = mapBridge();
    const { host: h, root, openFile } = host(b);
    const fd = openFile('__quota-a');
    fd.write(enc('x'), 0n);
    fd.sync();
    fd.write(enc('buffered'), 1n);
    // The host keeps the open file as an orphan: a rename, which stores (and fails) first.
    root.unlinkFileAt('__quota-a');
    expect(wasiCode(() => fd.sync())).toBe('insufficient-space');
    fd.write(enc('again'), 1n);
    fd[Symbol.dispose]();
    // The file is gone with what it held: nothing is left to report.
    h.close();
  });

  it('a failure of a background store reaches the file’s next fsync', () => {
    const b = mapBridge({ dirtyBytes: 64 });
    const { host: h, openFile } = host(b);
    const fd = openFile('__quota-a');
    fd.write(enc('x'), 0n);
    fd.sync();
    fd.write(enc('buffered'), 1n);
    const other = openFile('g');
    for (let i = 0; i < 10; i++) other.write(pattern(10, i), BigInt(i * 10));
    expect(wasiCode(() => fd.sync())).toBe('insufficient-space');
    other[Symbol.dispose]();
    fd[Symbol.dispose]();
    h.close();
  });

  it('a failure no descriptor saw before its last close is reported by host.close()', () => {
    const b = mapBridge({ dirtyBytes: 64 });
    const { host: h, openFile } = host(b);
    const fd = openFile('__quota-a');
    fd.write(enc('x'), 0n);
    fd.sync();
    const reader = openFile('__quota-a');
    fd.write(enc('buffered'), 1n);
    fd[Symbol.dispose]();
    const other = openFile('g');
    for (let i = 0; i < 10; i++) other.write(pattern(10, i), BigInt(i * 10));
    other[Symbol.dispose]();
    reader[Symbol.dispose]();
    expectCode(() => h.close(), 'quota-exceeded', '/__quota-a');
  });
});
