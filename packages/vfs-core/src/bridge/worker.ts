import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { VfsError } from '../errors.js';
import type { VfsStorage } from '../types.js';
import { type Shared, WorkerEndpoint } from './protocol.js';
import { serveChannel } from './serve.js';

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

// A pending Atomics.waitAsync does not keep a thread alive; this timer does. After close (or a
// failed start) the worker idles until the calling thread terminates it: exiting by itself could
// race with the calling thread reading the last answer.
setInterval(() => {}, 1 << 30);
await serveChannel(endpoint, open, true);
