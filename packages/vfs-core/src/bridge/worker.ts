import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { isVfsError, VfsError } from '../errors.js';
import { OPERATIONS, type ResultKind } from '../operations.js';
import type { DirEntry, Metadata, VfsStorage } from '../types.js';
import {
  Decoder,
  Encoder,
  errorToWire,
  FAILED,
  OK,
  OPERATION_OF_CODE,
  Op,
  type Shared,
  type Value,
  WorkerEndpoint,
} from './protocol.js';

/** What the calling thread hands to the worker. */
export interface WorkerInit extends Shared {
  module: string;
  export: string;
  options: unknown;
}

const init = workerData as WorkerInit;
const endpoint = new WorkerEndpoint(init);

process.on('exit', (code) => endpoint.die(`the sync bridge worker exited (code ${code})`));
const fatal = (error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  endpoint.die(`the sync bridge worker crashed: ${message}`);
  process.exit(1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

function specifier(module: string): string {
  return isAbsolute(module) ? pathToFileURL(module).href : module;
}

async function open(): Promise<VfsStorage> {
  const loaded = (await import(specifier(init.module))) as Record<string, unknown>;
  const factory = loaded[init.export];
  if (typeof factory !== 'function') {
    throw new VfsError('invalid-argument', `${init.module} has no function export "${init.export}"`);
  }
  const storage = (await factory(init.options)) as VfsStorage;
  if (typeof storage?.readAt !== 'function' || typeof storage.capabilities !== 'object') {
    throw new VfsError('invalid-argument', `${init.module} "${init.export}" did not return a VfsStorage`);
  }
  return storage;
}

function ok(value: Value) {
  return new Encoder().byte(OK).value(value).finish();
}

/** What crosses the wire for an operation's result: plain objects, whatever the backend returned. */
function toWire(result: unknown, kind: ResultKind): Value {
  if (kind === 'metadata') return { ...(result as Metadata) } as unknown as Value;
  if (kind === 'entries') return (result as DirEntry[]).map((e) => ({ ...e })) as unknown as Value;
  return result as Value;
}

async function handle(storage: VfsStorage, request: Decoder): Promise<unknown> {
  const code = request.byte();
  const op = OPERATION_OF_CODE.get(code);
  if (op !== undefined) {
    const { args, result } = OPERATIONS[op];
    const values = args.map(() => request.value());
    const fn = storage[op] as (...a: unknown[]) => Promise<unknown>;
    return toWire(await fn.apply(storage, values), result);
  }
  switch (code) {
    case Op.writeMany: {
      // The dirty extents of one file, in offset order, in one round trip, and when the last of
      // them was written (what the caller's stat showed as modified meanwhile).
      const p = request.value() as string;
      const extents = request.value() as [number, Uint8Array][];
      const touched = request.value();
      for (const [offset, data] of extents) await storage.writeAt(p, offset, data);
      if (typeof touched === 'number' && touched > 0) {
        // Another writer may have removed the file since: the writes were stored all the same.
        await storage.setTimes(p, { modified: touched, accessed: touched }).catch((error: unknown) => {
          if (!isVfsError(error, 'not-found')) throw error;
        });
      }
      return undefined;
    }
    case Op.close:
      return storage.close();
    default:
      throw new VfsError('io', `sync bridge: unknown operation ${code}`);
  }
}

async function serve(): Promise<void> {
  let storage: VfsStorage;
  await endpoint.receive();
  try {
    storage = await open();
  } catch (error) {
    await endpoint.send(new Encoder().byte(FAILED).value(errorToWire(error)).finish());
    return;
  }
  // The name and path limits go along: the bridge's own guard enforces them before its cache.
  const { maxNameLength, maxPathLength } = storage.limits ?? storage.sync?.limits ?? {};
  const limits = Object.fromEntries(
    Object.entries({ maxNameLength, maxPathLength }).filter(([, v]) => v !== undefined),
  ) as Record<string, number>;
  await endpoint.send(ok({ ...storage.capabilities, limits }));
  for (;;) {
    const request = new Decoder(await endpoint.receive());
    let closing = false;
    let response: ReturnType<typeof ok>;
    try {
      closing = request.buffer[0] === Op.close;
      response = ok((await handle(storage, request)) as Value);
    } catch (error) {
      response = new Encoder().byte(FAILED).value(errorToWire(error)).finish();
    }
    await endpoint.send(response);
    if (closing) return;
  }
}

// A pending Atomics.waitAsync does not keep a thread alive; this timer does. After close (or a
// failed start) the worker idles until the calling thread terminates it: exiting by itself could
// race with the calling thread reading the last answer.
setInterval(() => {}, 1 << 30);
await serve();
