import type {
  DescriptorFlags,
  DescriptorStat,
  DescriptorType,
  DirectoryEntry,
  ErrorCode,
  OpenFlags,
  PathFlags,
} from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import type { Descriptor, DirectoryEntryStream } from './filesystem.js';
import {
  type HandleTable,
  type LowerContext,
  type LoweringSet,
  ownHandle,
  RuntimeError,
  tablesBy,
  target,
  type WasmMemory,
} from './jco.js';
import { InputStream, IoError, OutputStream, type StreamError } from './streams.js';

/*
 * Direct lowerings of the filesystem's calls, for components transpiled with
 * `jco transpile --import-bindings hybrid`. jco's default (`js`) bindings wrap every host call in
 * generated glue (task bookkeeping, debug logging, lifting into objects) that costs far more than
 * our filesystem does: about four fifths of a small-file workload. With `hybrid`, jco asks each
 * imported function for a lowering and, where there is one, lets the core module call the function
 * it returns directly, with the canonical ABI's flat arguments: handles, pointers into the guest's
 * memory, and a pointer where the result goes.
 *
 * Each lowering here decodes its arguments, calls the descriptor's own method (so behaviour lives in
 * one place) and encodes the result as jco's glue would. The layouts are the canonical ABI's for
 * wasi:filesystem@0.2 (a `result` puts its tag at 0 and its payload at the payload's alignment).
 * What they rely on of jco itself (handle tables, reps, the stand-ins its glue makes for the calls
 * without a lowering) is in jco.ts, which checks it and falls back to jco's glue.
 */

/** wasi:filesystem's error-code cases, in the WIT's order: the index is the ABI value. */
const ERROR_CODES: readonly ErrorCode[] = [
  'access',
  'would-block',
  'already',
  'bad-descriptor',
  'busy',
  'deadlock',
  'quota',
  'exist',
  'file-too-large',
  'illegal-byte-sequence',
  'in-progress',
  'interrupted',
  'invalid',
  'io',
  'is-directory',
  'loop',
  'too-many-links',
  'message-size',
  'name-too-long',
  'no-device',
  'no-entry',
  'no-lock',
  'insufficient-memory',
  'insufficient-space',
  'not-directory',
  'not-empty',
  'not-recoverable',
  'unsupported',
  'no-tty',
  'no-such-device',
  'overflow',
  'not-permitted',
  'pipe',
  'read-only',
  'invalid-seek',
  'text-file-busy',
  'cross-device',
];
const ERROR_INDEX = new Map(ERROR_CODES.map((code, index) => [code, index]));

const TYPE_INDEX: Record<DescriptorType, number> = {
  unknown: 0,
  'block-device': 1,
  'character-device': 2,
  directory: 3,
  fifo: 4,
  'symbolic-link': 5,
  'regular-file': 6,
  socket: 7,
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The memory of one instance, with a view that follows its growth. */
class GuestMemory {
  #view: DataView;

  constructor(readonly memory: WasmMemory) {
    this.#view = new DataView(memory.buffer);
  }

  get view(): DataView {
    if (this.#view.buffer !== this.memory.buffer) this.#view = new DataView(this.memory.buffer);
    return this.#view;
  }

  string(ptr: number, len: number): string {
    return decoder.decode(new Uint8Array(this.memory.buffer, ptr, len));
  }

  bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer.slice(ptr, ptr + len));
  }
}

/**
 * Runs a call and writes its `result` at `ret`: the tag at 0 and, for an error, its code at
 * `payload`. A thrown value that is not an error code traps, as it does through jco's glue.
 */
function result(mem: GuestMemory, ret: number, payload: number, call: () => void): void {
  try {
    call();
  } catch (error) {
    const index = typeof error === 'string' ? ERROR_INDEX.get(error as ErrorCode) : undefined;
    if (index === undefined) throw error;
    const view = mem.view;
    view.setUint8(ret, 1);
    view.setUint8(ret + payload, index);
  }
}

/**
 * Runs a stream call and writes its `result<_, stream-error>` at `ret`: for an error, the variant's
 * tag at `payload` and, for a failed operation, a new handle of its `error` (in `errors`) after it.
 */
function streamResult(
  mem: GuestMemory,
  ret: number,
  payload: number,
  errors: HandleTable,
  call: () => void,
): void {
  try {
    call();
  } catch (error) {
    const failure = error as StreamError | undefined;
    if (failure?.tag === 'closed') {
      const view = mem.view;
      view.setUint8(ret, 1);
      view.setUint8(ret + payload, 1);
      return;
    }
    if (failure?.tag === 'last-operation-failed' && failure.val instanceof IoError) {
      const handle = ownHandle(errors, failure.val);
      const view = mem.view;
      view.setUint8(ret, 1);
      view.setUint8(ret + payload, 0);
      view.setInt32(ret + payload + 4, handle, true);
      return;
    }
    throw error;
  }
}

const pathFlags = (bits: number): PathFlags => ({ symlinkFollow: (bits & 1) !== 0 });

const openFlags = (bits: number): OpenFlags => ({
  create: (bits & 1) !== 0,
  directory: (bits & 2) !== 0,
  exclusive: (bits & 4) !== 0,
  truncate: (bits & 8) !== 0,
});

const descriptorFlags = (bits: number): DescriptorFlags => ({
  read: (bits & 1) !== 0,
  write: (bits & 2) !== 0,
  fileIntegritySync: (bits & 4) !== 0,
  dataIntegritySync: (bits & 8) !== 0,
  requestedWriteSync: (bits & 16) !== 0,
  mutateDirectory: (bits & 32) !== 0,
});

function flagBits(flags: DescriptorFlags): number {
  return (
    (flags.read ? 1 : 0) |
    (flags.write ? 2 : 0) |
    (flags.fileIntegritySync ? 4 : 0) |
    (flags.dataIntegritySync ? 8 : 0) |
    (flags.requestedWriteSync ? 16 : 0) |
    (flags.mutateDirectory ? 32 : 0)
  );
}

/** A `descriptor-stat` at `at` (8-aligned): type, link count, size, three optional datetimes. */
function writeStat(view: DataView, at: number, stat: DescriptorStat): void {
  view.setUint8(at, TYPE_INDEX[stat.type]);
  view.setBigUint64(at + 8, stat.linkCount, true);
  view.setBigUint64(at + 16, stat.size, true);
  const times = [stat.dataAccessTimestamp, stat.dataModificationTimestamp, stat.statusChangeTimestamp];
  for (let i = 0; i < 3; i++) {
    const time = times[i];
    const base = at + 24 + i * 24;
    if (time === undefined) {
      view.setUint8(base, 0);
    } else {
      view.setUint8(base, 1);
      view.setBigUint64(base + 8, time.seconds, true);
      view.setUint32(base + 16, time.nanoseconds, true);
    }
  }
}

type Lowering = (context: LowerContext) => (...args: never[]) => unknown;

/**
 * The lowerings of the filesystem's and the streams' calls, for jco.ts to offer: built, not
 * installed (nothing is patched until a host is created and a component asks).
 */
export function loweringSet(
  DescriptorClass: typeof Descriptor,
  EntryStreamClass: typeof DirectoryEntryStream,
  filesystemErrorCode: (error: IoError) => ErrorCode | undefined,
): LoweringSet {
  const lowerings: Array<readonly [object, Lowering]> = [];
  const lower = (method: unknown, make: Lowering): void => {
    lowerings.push([method as object, make]);
  };

  const proto = DescriptorClass.prototype;
  type D = Descriptor;

  lower(proto.openAt, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, pf: number, ptr: number, len: number, of: number, df: number, ret: number) =>
      result(mem, ret, 4, () => {
        const opened = target<D>(table!, handle).openAt(
          pathFlags(pf),
          mem.string(ptr, len),
          openFlags(of),
          descriptorFlags(df),
        );
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setInt32(ret + 4, ownHandle(table!, opened), true);
      });
  });

  lower(proto.getFlags, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ret: number) =>
      result(mem, ret, 1, () => {
        const bits = flagBits(target<D>(table!, handle).getFlags());
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setUint8(ret + 1, bits);
      });
  });

  lower(proto.getType, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ret: number) =>
      result(mem, ret, 1, () => {
        const type = TYPE_INDEX[target<D>(table!, handle).getType()];
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setUint8(ret + 1, type);
      });
  });

  lower(proto.stat, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ret: number) =>
      result(mem, ret, 8, () => {
        const stat = target<D>(table!, handle).stat();
        const view = mem.view;
        view.setUint8(ret, 0);
        writeStat(view, ret + 8, stat);
      });
  });

  lower(proto.statAt, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, pf: number, ptr: number, len: number, ret: number) =>
      result(mem, ret, 8, () => {
        const stat = target<D>(table!, handle).statAt(pathFlags(pf), mem.string(ptr, len));
        const view = mem.view;
        view.setUint8(ret, 0);
        writeStat(view, ret + 8, stat);
      });
  });

  lower(proto.metadataHash, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ret: number) =>
      result(mem, ret, 8, () => {
        const hash = target<D>(table!, handle).metadataHash();
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setBigUint64(ret + 8, hash.lower, true);
        view.setBigUint64(ret + 16, hash.upper, true);
      });
  });

  lower(proto.metadataHashAt, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, pf: number, ptr: number, len: number, ret: number) =>
      result(mem, ret, 8, () => {
        const hash = target<D>(table!, handle).metadataHashAt(pathFlags(pf), mem.string(ptr, len));
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setBigUint64(ret + 8, hash.lower, true);
        view.setBigUint64(ret + 16, hash.upper, true);
      });
  });

  lower(proto.read, ({ memory, realloc, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, length: bigint, offset: bigint, ret: number) =>
      result(mem, ret, 4, () => {
        const [bytes, end] = target<D>(table!, handle).read(length, offset);
        const ptr = realloc!(0, 0, 1, bytes.length);
        new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setUint32(ret + 4, ptr, true);
        view.setUint32(ret + 8, bytes.length, true);
        view.setUint8(ret + 12, end ? 1 : 0);
      });
  });

  lower(proto.write, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ptr: number, len: number, offset: bigint, ret: number) =>
      result(mem, ret, 8, () => {
        const written = target<D>(table!, handle).write(mem.bytes(ptr, len), offset);
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setBigUint64(ret + 8, written, true);
      });
  });

  lower(proto.readDirectory, ({ memory, resourceTables }) => {
    const mem = new GuestMemory(memory);
    const tables = tablesBy(resourceTables, DescriptorClass);
    return (handle: number, ret: number) =>
      result(mem, ret, 4, () => {
        const [descriptors, entries] = tables(handle);
        const stream = target<D>(descriptors, handle).readDirectory();
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setInt32(ret + 4, ownHandle(entries, stream), true);
      });
  });

  lower(EntryStreamClass.prototype.readDirectoryEntry, ({ memory, realloc, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ret: number) =>
      result(mem, ret, 4, () => {
        const entry: DirectoryEntry | undefined = target<DirectoryEntryStream>(
          table!,
          handle,
        ).readDirectoryEntry();
        if (entry === undefined) {
          const view = mem.view;
          view.setUint8(ret, 0);
          view.setUint8(ret + 4, 0);
          return;
        }
        const name = encoder.encode(entry.name);
        const ptr = realloc!(0, 0, 1, name.length);
        new Uint8Array(memory.buffer, ptr, name.length).set(name);
        const view = mem.view;
        view.setUint8(ret, 0);
        view.setUint8(ret + 4, 1);
        view.setUint8(ret + 8, TYPE_INDEX[entry.type]);
        view.setUint32(ret + 12, ptr, true);
        view.setUint32(ret + 16, name.length, true);
      });
  });

  // The calls that return nothing: `result<_, error-code>`, the code at 1.
  const unit = (make: (mem: GuestMemory, table: HandleTable) => (...args: never[]) => void): Lowering => {
    return ({ memory, resourceTables: [table] }) => {
      const mem = new GuestMemory(memory);
      const call = make(mem, table!) as (...args: unknown[]) => void;
      return (...args: unknown[]) => {
        const ret = args.pop() as number;
        result(mem, ret, 1, () => {
          call(...args);
          mem.view.setUint8(ret, 0);
        });
      };
    };
  };
  lower(
    proto.createDirectoryAt,
    unit((mem, table) => (handle: number, ptr: number, len: number) => {
      target<D>(table, handle).createDirectoryAt(mem.string(ptr, len));
    }),
  );
  lower(
    proto.removeDirectoryAt,
    unit((mem, table) => (handle: number, ptr: number, len: number) => {
      target<D>(table, handle).removeDirectoryAt(mem.string(ptr, len));
    }),
  );
  lower(
    proto.unlinkFileAt,
    unit((mem, table) => (handle: number, ptr: number, len: number) => {
      target<D>(table, handle).unlinkFileAt(mem.string(ptr, len));
    }),
  );
  lower(
    proto.renameAt,
    unit(
      (mem, table) =>
        (handle: number, ptr: number, len: number, other: number, ptr2: number, len2: number) => {
          target<D>(table, handle).renameAt(
            mem.string(ptr, len),
            target<D>(table, other),
            mem.string(ptr2, len2),
          );
        },
    ),
  );
  lower(
    proto.setSize,
    unit((_mem, table) => (handle: number, size: bigint) => {
      target<D>(table, handle).setSize(size);
    }),
  );
  lower(
    proto.sync,
    unit((_mem, table) => (handle: number) => {
      target<D>(table, handle).sync();
    }),
  );
  lower(
    proto.syncData,
    unit((_mem, table) => (handle: number) => {
      target<D>(table, handle).syncData();
    }),
  );

  // Streams of a descriptor: `result<own<stream>, error-code>`, the handle at 4.
  for (const [method, cls] of [
    [proto.readViaStream, InputStream],
    [proto.writeViaStream, OutputStream],
    [proto.appendViaStream, OutputStream],
  ] as const) {
    lower(method, ({ memory, resourceTables }) => {
      const mem = new GuestMemory(memory);
      const tables = tablesBy(resourceTables, DescriptorClass);
      const open = method as (this: D, offset: bigint) => object;
      return (handle: number, ...rest: [bigint, number] | [number]) => {
        const ret = rest[rest.length - 1] as number;
        const offset = rest.length === 2 ? rest[0] : 0n;
        result(mem, ret, 4, () => {
          const [descriptors, streams] = tables(handle);
          const stream = open.call(target<D>(descriptors, handle), offset);
          if (!(stream instanceof cls)) throw new RuntimeError('not a stream of the host');
          const view = mem.view;
          view.setUint8(ret, 0);
          view.setInt32(ret + 4, ownHandle(streams, stream), true);
        });
      };
    });
  }

  lower(filesystemErrorCode, ({ memory, resourceTables: [table] }) => {
    const mem = new GuestMemory(memory);
    return (handle: number, ret: number) => {
      const code = filesystemErrorCode(target<IoError>(table!, handle));
      const view = mem.view;
      if (code === undefined) {
        view.setUint8(ret, 0);
      } else {
        view.setUint8(ret, 1);
        view.setUint8(ret + 1, ERROR_INDEX.get(code)!);
      }
    };
  });

  const out = OutputStream.prototype;
  const input = InputStream.prototype;
  type O = OutputStream;
  type I = InputStream;

  // Stream calls: `(handle, a, b, ret)` with `arity` (0 to 2) flat arguments between the handle
  // and `ret`, where their `result<_, stream-error>` goes (the payload at `payload`).
  const lowerStream = <S extends object>(
    method: unknown,
    cls: abstract new (...args: never[]) => S,
    arity: 0 | 1 | 2,
    payload: 4 | 8,
    body: (
      stream: S,
      a: never,
      b: never,
      ret: number,
      mem: GuestMemory,
      realloc: LowerContext['realloc'],
    ) => void,
  ) =>
    lower(method, ({ memory, realloc, resourceTables }) => {
      const mem = new GuestMemory(memory);
      const tables = tablesBy(resourceTables, cls);
      return (handle: number, a: never, b: never, c: never) => {
        const ret = (arity === 0 ? a : arity === 1 ? b : c) as number;
        const [streams, errors] = tables(handle);
        streamResult(mem, ret, payload, errors, () =>
          body(target<S>(streams, handle), a, b, ret, mem, realloc),
        );
      };
    });

  lowerStream(out.checkWrite, OutputStream, 0, 8, (stream: O, _a, _b, ret, mem) => {
    const permit = stream.checkWrite();
    const view = mem.view;
    view.setUint8(ret, 0);
    view.setBigUint64(ret + 8, permit, true);
  });
  for (const method of [out.write, out.blockingWriteAndFlush] as const) {
    lowerStream(method, OutputStream, 2, 4, (stream: O, ptr: number, len: number, ret, mem) => {
      method.call(stream, mem.bytes(ptr, len));
      mem.view.setUint8(ret, 0);
    });
  }
  for (const method of [out.flush, out.blockingFlush] as const) {
    lowerStream(method, OutputStream, 0, 4, (stream: O, _a, _b, ret, mem) => {
      method.call(stream);
      mem.view.setUint8(ret, 0);
    });
  }
  for (const method of [out.writeZeroes, out.blockingWriteZeroesAndFlush] as const) {
    lowerStream(method, OutputStream, 1, 4, (stream: O, len: bigint, _b, ret, mem) => {
      method.call(stream, len);
      mem.view.setUint8(ret, 0);
    });
  }
  // `result<list<u8>, stream-error>`: the bytes go where the guest's allocator puts them.
  for (const method of [input.read, input.blockingRead] as const) {
    lowerStream(method, InputStream, 1, 4, (stream: I, len: bigint, _b, ret, mem, realloc) => {
      const bytes = method.call(stream, len);
      const ptr = realloc!(0, 0, 1, bytes.length);
      new Uint8Array(mem.memory.buffer, ptr, bytes.length).set(bytes);
      const view = mem.view;
      view.setUint8(ret, 0);
      view.setUint32(ret + 4, ptr, true);
      view.setUint32(ret + 8, bytes.length, true);
    });
  }
  for (const method of [input.skip, input.blockingSkip] as const) {
    lowerStream(method, InputStream, 1, 8, (stream: I, len: bigint, _b, ret, mem) => {
      const skipped = method.call(stream, len);
      const view = mem.view;
      view.setUint8(ret, 0);
      view.setBigUint64(ret + 8, skipped, true);
    });
  }

  return { classes: [DescriptorClass, EntryStreamClass, OutputStream, InputStream, IoError], lowerings };
}
