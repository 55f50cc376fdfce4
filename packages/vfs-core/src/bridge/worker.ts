import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { VfsError } from '../errors.js';
import type { SetTimes, VfsStorage } from '../types.js';
import {
  Decoder,
  Encoder,
  errorToWire,
  FAILED,
  OK,
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

async function handle(storage: VfsStorage, request: Decoder): Promise<unknown> {
  const op = request.byte();
  const a = () => request.value();
  const path = () => request.value() as string;
  const num = () => request.value() as number;
  const bytes = () => request.value() as Uint8Array;
  switch (op) {
    case Op.read:
      return storage.read(path());
    case Op.readAt:
      return storage.readAt(path(), num(), num());
    case Op.write:
      return storage.write(path(), bytes());
    case Op.writeAt:
      return storage.writeAt(path(), num(), bytes());
    case Op.append:
      return storage.append(path(), bytes());
    case Op.create:
      return storage.create(path());
    case Op.setSize:
      return storage.setSize(path(), num());
    case Op.stat:
      return { ...(await storage.stat(path())) };
    case Op.list:
      return (await storage.list(path())).map((e) => ({ ...e }));
    case Op.exists:
      return storage.exists(path());
    case Op.mkdir:
      return storage.mkdir(path());
    case Op.rmdir:
      return storage.rmdir(path());
    case Op.delete:
      return storage.delete(path());
    case Op.rename:
      return storage.rename(path(), path());
    case Op.setTimes:
      return storage.setTimes(path(), a() as SetTimes);
    case Op.writeMany: {
      // The dirty extents of one file, in offset order, in one round trip.
      const p = path();
      const extents = a() as [number, Uint8Array][];
      for (const [offset, data] of extents) await storage.writeAt(p, offset, data);
      return undefined;
    }
    case Op.close:
      return storage.close();
    default:
      throw new VfsError('io', `sync bridge: unknown operation ${op}`);
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
  await endpoint.send(ok({ ...storage.capabilities }));
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
