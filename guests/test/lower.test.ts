import { limits } from '@eryx/vfs-core';
import { createWasiHost, type WasiHost } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runGuest } from '../src/run.js';
import { drop, R, RW, root } from './descriptors.js';

/*
 * The host's direct lowerings (`Symbol.for('cabiLower')`), which a component transpiled with
 * `--import-bindings hybrid` calls instead of jco's glue, driven here as jco's core module would:
 * flat arguments, a handle table laid out as jco's, results written into linear memory. The guests
 * run under both bindings in fs/persistence/bench/escape tests; this pins the ABI details those
 * runs may not reach (error payloads, a failed stream's error handle, calls jco's glue makes on a
 * handle a lowering created).
 */

const CABI_LOWER = Symbol.for('cabiLower');
const CABI_REP = Symbol.for('cabiRep');
const CABI_DISPOSE = Symbol.for('cabiDispose');
const T_FLAG = 1 << 30;

type Fn = (...args: unknown[]) => unknown;
type Lowerable = { [CABI_LOWER]: (context: object) => Fn };
type Table = number[];

interface Memory {
  readonly buffer: ArrayBuffer;
}
const { Memory, RuntimeError } = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number }) => Memory; RuntimeError: ErrorConstructor };
  }
).WebAssembly;

/** One instance's worth of jco state: memory, a bump allocator, and the handle tables. */
class Instance {
  readonly memory = new Memory({ initial: 1 });
  #next = 1024;
  readonly descriptors: Table = [T_FLAG, 0];
  readonly entries: Table = [T_FLAG, 0];
  readonly outputs: Table = [T_FLAG, 0];
  readonly inputs: Table = [T_FLAG, 0];
  readonly errors: Table = [T_FLAG, 0];
  readonly realloc = (_old: number, _oldSize: number, align: number, size: number): number => {
    this.#next = Math.ceil(this.#next / align) * align;
    const ptr = this.#next;
    this.#next += Math.max(size, 1);
    return ptr;
  };

  constructor(readonly host: WasiHost) {}

  /** The lowered function of `method` with the given tables (in jco's order). */
  lower(method: unknown, ...resourceTables: Table[]): Fn {
    return (method as Lowerable)[CABI_LOWER]({ memory: this.memory, realloc: this.realloc, resourceTables });
  }

  get view(): DataView {
    return new DataView(this.memory.buffer);
  }

  /** A string in guest memory: [ptr, len]. */
  string(value: string): [number, number] {
    const bytes = new TextEncoder().encode(value);
    const ptr = this.realloc(0, 0, 1, bytes.length);
    new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  /** A handle for an object the glue handed out (jco's own way: the object's rep, owned). */
  own(table: Table, object: object): number {
    const rep = (object as Record<symbol, number>)[CABI_REP]!;
    table.push(0, rep | T_FLAG);
    return (table.length >> 1) - 1;
  }

  ret(): number {
    return this.realloc(0, 0, 8, 128);
  }

  /** The object jco's glue would make for a handle it did not hand out: the class's prototype and a rep. */
  standIn(table: Table, handle: number, cls: { prototype: object }): object {
    const standIn = Object.create(cls.prototype) as object;
    Object.defineProperty(standIn, CABI_REP, { writable: true, value: table[(handle << 1) + 1]! & ~T_FLAG });
    return standIn;
  }
}

const ERROR_INDEX = { 'bad-descriptor': 3, exist: 7, 'insufficient-space': 23, 'no-entry': 20 } as const;

function setup(storage = memory().sync) {
  const host = createWasiHost({ mounts: { '/data': storage } });
  const types = host.imports['wasi:filesystem/types'] as {
    Descriptor: { prototype: Record<string, unknown> };
    DirectoryEntryStream: { prototype: Record<string, unknown> };
    filesystemErrorCode: unknown;
  };
  const streams = host.imports['wasi:io/streams'] as {
    OutputStream: { prototype: Record<string, unknown> };
    InputStream: { prototype: Record<string, unknown> };
  };
  const io = new Instance(host);
  const D = types.Descriptor.prototype;
  // jco passes a call's tables in its own numbering of resource types, which depends on the
  // component: the descriptor's table may come first or second.
  const fns = {
    openAt: io.lower(D.openAt, io.descriptors),
    stat: io.lower(D.stat, io.descriptors),
    statAt: io.lower(D.statAt, io.descriptors),
    getType: io.lower(D.getType, io.descriptors),
    read: io.lower(D.read, io.descriptors),
    write: io.lower(D.write, io.descriptors),
    unlinkFileAt: io.lower(D.unlinkFileAt, io.descriptors),
    renameAt: io.lower(D.renameAt, io.descriptors),
    readDirectory: io.lower(D.readDirectory, io.entries, io.descriptors),
    readDirectoryEntry: io.lower(types.DirectoryEntryStream.prototype.readDirectoryEntry, io.entries),
    writeViaStream: io.lower(D.writeViaStream, io.outputs, io.descriptors),
    readViaStream: io.lower(D.readViaStream, io.descriptors, io.inputs),
    blockingWriteAndFlush: io.lower(
      streams.OutputStream.prototype.blockingWriteAndFlush,
      io.errors,
      io.outputs,
    ),
    checkWrite: io.lower(streams.OutputStream.prototype.checkWrite, io.outputs, io.errors),
    blockingRead: io.lower(streams.InputStream.prototype.blockingRead, io.errors, io.inputs),
    filesystemErrorCode: io.lower(types.filesystemErrorCode, io.errors),
  };
  const preopen = io.own(io.descriptors, root(host));
  return { host, io, fns, preopen, types, streams };
}

/** open-at through the lowering: the new handle, or the error code's index. */
function openAt(
  s: ReturnType<typeof setup>,
  dir: number,
  path: string,
  openFlags: number,
  flags: number,
): { handle?: number; error?: number } {
  const ret = s.io.ret();
  s.fns.openAt(dir, 0, ...s.io.string(path), openFlags, flags, ret);
  const view = s.io.view;
  return view.getUint8(ret) === 0
    ? { handle: view.getInt32(ret + 4, true) }
    : { error: view.getUint8(ret + 4) };
}

const CREATE = 1;
const EXCLUSIVE = 4;
const READ = 1;
const WRITE = 2;

describe('direct lowerings (jco --import-bindings hybrid)', () => {
  let hosts: WasiHost[] = [];
  afterEach(() => {
    for (const host of hosts) host.close();
    hosts = [];
  });
  const make = (storage?: ReturnType<typeof memory>['sync']) => {
    const s = setup(storage);
    hosts.push(s.host);
    return s;
  };

  it('open-at makes a handle in the table, and its errors are written as the error code', () => {
    const s = make();
    const file = openAt(s, s.preopen, 'a.txt', CREATE | EXCLUSIVE, READ | WRITE);
    expect(file.handle).toBe(2);
    expect(s.io.descriptors[(2 << 1) + 1]! & T_FLAG).toBe(T_FLAG);
    expect(openAt(s, s.preopen, 'a.txt', CREATE | EXCLUSIVE, READ | WRITE)).toEqual({
      error: ERROR_INDEX.exist,
    });
    expect(openAt(s, s.preopen, 'missing.txt', 0, READ)).toEqual({ error: ERROR_INDEX['no-entry'] });

    // write, then stat: result<filesize> at 8, descriptor-stat at 8 (type, link count, size, times).
    const ret = s.io.ret();
    s.fns.write(file.handle, ...s.io.string('hello'), 0n, ret);
    expect([s.io.view.getUint8(ret), s.io.view.getBigUint64(ret + 8, true)]).toEqual([0, 5n]);
    s.fns.stat(file.handle, ret);
    const view = s.io.view;
    expect(view.getUint8(ret)).toBe(0);
    expect(view.getUint8(ret + 8)).toBe(6); // regular-file
    expect(view.getBigUint64(ret + 16, true)).toBe(1n);
    expect(view.getBigUint64(ret + 24, true)).toBe(5n);
    for (const at of [32, 56, 80]) {
      expect(view.getUint8(ret + at)).toBe(1);
      expect(Number(view.getBigUint64(ret + at + 8, true))).toBeGreaterThan(1_600_000_000);
    }

    // read: result<tuple<list<u8>, bool>> at 4, the bytes where the guest's realloc put them.
    s.fns.read(file.handle, 100n, 1n, ret);
    const ptr = s.io.view.getUint32(ret + 4, true);
    const len = s.io.view.getUint32(ret + 8, true);
    expect(new TextDecoder().decode(new Uint8Array(s.io.memory.buffer, ptr, len))).toBe('ello');
    expect(s.io.view.getUint8(ret + 12)).toBe(1);
  });

  it('a descriptor opened without write rights reports bad-descriptor, as through the glue', () => {
    const s = make();
    drop(root(s.host).openAt({}, 'r.txt', { create: true }, RW));
    const file = openAt(s, s.preopen, 'r.txt', 0, READ);
    const ret = s.io.ret();
    s.fns.writeViaStream(file.handle, 0n, ret);
    expect([s.io.view.getUint8(ret), s.io.view.getUint8(ret + 4)]).toEqual([
      1,
      ERROR_INDEX['bad-descriptor'],
    ]);
  });

  it('streams: writes and reads through handles, and a failed write hands the guest an error with its code', () => {
    // 13 bytes: the name `f.txt` (5) and 8 of content.
    const storage = limits(memory(), { maxBytes: 13 }).sync!;
    const s = make(storage);
    const file = openAt(s, s.preopen, 'f.txt', CREATE, READ | WRITE).handle!;
    const ret = s.io.ret();
    s.fns.writeViaStream(file, 0n, ret);
    expect(s.io.view.getUint8(ret)).toBe(0);
    const out = s.io.view.getInt32(ret + 4, true);
    expect(s.io.outputs.length).toBe(4); // the stream went into the output-stream table

    s.fns.checkWrite(out, ret);
    expect(s.io.view.getUint8(ret)).toBe(0);
    expect(s.io.view.getBigUint64(ret + 8, true)).toBeGreaterThan(0n);
    s.fns.blockingWriteAndFlush(out, ...s.io.string('12345'), ret);
    expect(s.io.view.getUint8(ret)).toBe(0);
    expect(new TextDecoder().decode(storage.read('/f.txt'))).toBe('12345');

    // Over the quota: result<_, stream-error> at 4, last-operation-failed (0) with an error handle.
    s.fns.blockingWriteAndFlush(out, ...s.io.string('6789abc'), ret);
    expect([s.io.view.getUint8(ret), s.io.view.getUint8(ret + 4)]).toEqual([1, 0]);
    const error = s.io.view.getInt32(ret + 8, true);
    s.fns.filesystemErrorCode(error, ret);
    expect([s.io.view.getUint8(ret), s.io.view.getUint8(ret + 1)]).toEqual([
      1,
      ERROR_INDEX['insufficient-space'],
    ]);
    expect(new TextDecoder().decode(storage.read('/f.txt'))).toBe('12345');

    // read-via-stream, blocking-read: result<list<u8>, stream-error>; at the end, closed (1).
    s.fns.readViaStream(file, 1n, ret);
    const input = s.io.view.getInt32(ret + 4, true);
    s.fns.blockingRead(input, 100n, ret);
    const bytes = new Uint8Array(
      s.io.memory.buffer,
      s.io.view.getUint32(ret + 4, true),
      s.io.view.getUint32(ret + 8, true),
    );
    expect(new TextDecoder().decode(bytes)).toBe('2345');
    s.fns.blockingRead(input, 100n, ret);
    expect([s.io.view.getUint8(ret), s.io.view.getUint8(ret + 4)]).toEqual([1, 1]);
  });

  it("the calls left to jco's glue, made on a stand-in for a handle a lowering made, reach the real object", () => {
    const s = make();
    const file = openAt(s, s.preopen, 'g.txt', CREATE, READ | WRITE).handle!;
    const standIn = s.io.standIn(s.io.descriptors, file, s.types.Descriptor) as {
      setTimes(a: unknown, m: unknown): void;
      isSameObject(other: unknown): boolean;
    };
    standIn.setTimes(
      { tag: 'timestamp', val: { seconds: 1_000_000n, nanoseconds: 0 } },
      { tag: 'no-change' },
    );
    expect(root(s.host).statAt({}, 'g.txt').dataAccessTimestamp?.seconds).toBe(1_000_000n);
    const again = root(s.host).openAt({}, 'g.txt', {}, R);
    expect(standIn.isSameObject(again)).toBe(true);
    expect((again as unknown as typeof standIn).isSameObject(standIn)).toBe(true);

    // Dropped: jco disposes it through the class, by rep; the handle then traps, as a stale one must.
    const rep = s.io.descriptors[(file << 1) + 1]! & ~T_FLAG;
    (s.types.Descriptor as unknown as Record<symbol, (rep: number) => void>)[CABI_DISPOSE]!(rep);
    expect(() => s.fns.getType(file, s.io.ret())).toThrow(RuntimeError);
    expect(() => standIn.setTimes({ tag: 'now' }, { tag: 'now' })).toThrow(RuntimeError);
  });

  it('read-directory and read-directory-entry: entries, then none', () => {
    const s = make();
    for (const name of ['b', 'a']) openAt(s, s.preopen, name, CREATE, WRITE);
    const ret = s.io.ret();
    s.fns.readDirectory(s.preopen, ret);
    expect(s.io.view.getUint8(ret)).toBe(0);
    const stream = s.io.view.getInt32(ret + 4, true);
    const names: string[] = [];
    for (;;) {
      s.fns.readDirectoryEntry(stream, ret);
      const view = s.io.view;
      expect(view.getUint8(ret)).toBe(0);
      if (view.getUint8(ret + 4) === 0) break;
      expect(view.getUint8(ret + 8)).toBe(6);
      names.push(
        new TextDecoder().decode(
          new Uint8Array(s.io.memory.buffer, view.getUint32(ret + 12, true), view.getUint32(ret + 16, true)),
        ),
      );
    }
    expect(names).toEqual(['a', 'b']);

    // rename-at takes two descriptor handles; unlink-file-at then stat-at: no-entry at 8.
    s.fns.renameAt(s.preopen, ...s.io.string('a'), s.preopen, ...s.io.string('c'), ret);
    expect(s.io.view.getUint8(ret)).toBe(0);
    s.fns.unlinkFileAt(s.preopen, ...s.io.string('c'), ret);
    expect(s.io.view.getUint8(ret)).toBe(0);
    s.fns.statAt(s.preopen, 0, ...s.io.string('c'), ret);
    expect([s.io.view.getUint8(ret), s.io.view.getUint8(ret + 8)]).toEqual([1, ERROR_INDEX['no-entry']]);
  });

  it("a guest transpiled with hybrid bindings calls the lowerings, one with jco's default bindings never", async () => {
    const host = createWasiHost({ mounts: {} });
    const proto = (
      host.imports['wasi:filesystem/types'] as { Descriptor: { prototype: Record<string, unknown> } }
    ).Descriptor.prototype;
    const original = proto.openAt as Fn & Lowerable;
    let lowered = 0;
    let glue = 0;
    let inLowered = false;
    const spy = Object.assign(
      function (this: unknown, ...args: unknown[]) {
        if (!inLowered) glue++;
        return original.apply(this, args);
      },
      {
        [CABI_LOWER]: (context: object) => {
          const fn = original[CABI_LOWER](context);
          return (...args: unknown[]) => {
            lowered++;
            inLowered = true;
            try {
              return fn(...args);
            } finally {
              inLowered = false;
            }
          };
        },
      },
    );
    proto.openAt = spy;
    try {
      const storage = memory();
      const js = await runGuest('notes', {
        mounts: { '/data': storage },
        args: ['add', 'x'],
        bindings: 'js',
      });
      expect(js.exitCode).toBe(0);
      expect([glue > 0, lowered]).toEqual([true, 0]);
      glue = 0;
      const hybrid = await runGuest('notes', {
        mounts: { '/data': storage },
        args: ['add', 'y'],
        bindings: 'hybrid',
      });
      expect(hybrid.stdout).toBe('run 2: added "y"\n');
      expect([glue, lowered > 0]).toEqual([0, true]);
    } finally {
      proto.openAt = original;
    }
  });
});

// Last in this file: it turns the lowerings off for the rest of the process (vitest gives each test
// file its own), as a host does when jco hands it a handle table it does not know.
describe('a handle table laid out otherwise (another jco)', () => {
  it("turns the lowerings off with one warning: jco's glue then serves the guest, with the same results", async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const host = createWasiHost({ mounts: {} });
    const proto = (
      host.imports['wasi:filesystem/types'] as { Descriptor: { prototype: Record<string, unknown> } }
    ).Descriptor.prototype;
    const original = proto.openAt as Fn & Lowerable;
    try {
      // Entries in triples: not jco 1.x's (scope, rep) pairs. The request cannot be refused (jco
      // does not expect that), so its function traps rather than read the table.
      const io = new Instance(host);
      const openAt = io.lower(original, [T_FLAG, 0, 0]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/handle table/);
      expect(() => openAt(1, 0, ...io.string('a.txt'), 1, 3, io.ret())).toThrow(RuntimeError);

      // From then on nothing is offered, so jco keeps its glue, which calls the method itself.
      expect(original[CABI_LOWER]).toBeUndefined();
      expect((proto.stat as Partial<Lowerable>)[CABI_LOWER]).toBeUndefined();
      let glue = 0;
      const spy = function (this: unknown, ...args: unknown[]) {
        glue++;
        return original.apply(this, args);
      };
      Object.defineProperty(spy, CABI_LOWER, { get: () => original[CABI_LOWER] });
      proto.openAt = spy;
      const storage = memory();
      for (const [bindings, note, run] of [
        ['hybrid', 'x', 1],
        ['js', 'y', 2],
        ['hybrid', 'z', 3],
      ] as const) {
        glue = 0;
        const result = await runGuest('notes', {
          mounts: { '/data': storage },
          args: ['add', note],
          bindings,
        });
        expect([result.exitCode, result.stdout, glue > 0]).toEqual([
          0,
          `run ${run}: added "${note}"\n`,
          true,
        ]);
      }
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      proto.openAt = original;
      host.close();
      warn.mockRestore();
    }
  });
});
