import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import type { VfsError, VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { connectSyncBridge, createSyncBridge, type SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import {
  createWasiHost,
  WasiExit,
  type WasiHost,
  type WasiImports,
  type WasiMount,
} from '@eryx/vfs-core/wasi';
import { MemoryPool } from './memory.js';
import {
  type CoreModule,
  type MountDescriptor,
  type PreloadRequest,
  type RunRequest,
  STDIN_EMPTY,
  STDIN_EOF,
  STDIN_LENGTH,
  STDIN_STATE,
  STOP,
  type WireError,
  type WorkerMessage,
} from './protocol.js';

/*
 * A guest worker: runs one guest at a time, synchronously, as the caller's thread asks (a
 * `RunRequest` message). The transpiled JS of each component is imported once per worker; the
 * core modules arrive compiled. Between runs the worker holds nothing of the previous one.
 *
 * Core's main entry point (the whole storage toolkit) is imported only when a run needs it (a host
 * directory, an error to build): it is most of a new worker's start-up time otherwise.
 */

const core = () => import('@eryx/vfs-core');

async function vfsError(code: 'invalid-argument', message: string): Promise<VfsError> {
  return new (await core()).VfsError(code, message);
}

interface Transpiled {
  instantiate(
    getCoreModule: (path: string) => CoreModule | Promise<CoreModule>,
    imports: WasiImports,
    instantiateCore?: (module: CoreModule, imports?: object) => Promise<object>,
  ): Promise<{ run: { run(): void } }>;
}

const port = parentPort;
if (!port) throw new Error('@eryx/vfs-run: worker.js runs in a worker thread only');
const post = (message: WorkerMessage) => port.postMessage(message);

const transpiled = new Map<string, Promise<Transpiled>>();
/** The memories of this worker's guests, kept from one run to the next (memory.ts). */
const memories = new MemoryPool();

function importComponent(js: string): Promise<Transpiled> {
  let loaded = transpiled.get(js);
  if (!loaded) {
    loaded = import(js) as Promise<Transpiled>;
    transpiled.set(js, loaded);
  }
  return loaded;
}

function toWire(error: unknown): WireError {
  if (error instanceof Error && error.name === 'VfsError') {
    const { code, path } = error as VfsError;
    // The message without the "code: " prefix and " (path)" suffix VfsError adds (the caller's adds them again).
    const suffix = path === undefined ? '' : ` (${path})`;
    let message = error.message.replace(`${code}: `, '');
    if (suffix && message.endsWith(suffix)) message = message.slice(0, -suffix.length);
    return { code, message, path };
  }
  return { code: 'io', message: error instanceof Error ? error.message : String(error), path: undefined };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A storage whose every operation first checks whether the caller asked the guest to stop. `flush`
 * is left alone: storing what the guest wrote is what a stop wants anyway.
 */
function guarded(storage: VfsSyncStorage, operations: readonly string[], check: () => void): VfsSyncStorage {
  const out: Record<string, unknown> = {
    capabilities: storage.capabilities,
    limits: storage.limits,
    readOnly: (storage as { readOnly?: unknown }).readOnly,
  };
  const source = storage as unknown as Record<string, unknown>;
  if (typeof storage.flush === 'function') out.flush = storage.flush.bind(storage);
  for (const name of [...operations, 'readAtView']) {
    const fn = source[name];
    if (typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      check();
      return (fn as (...a: unknown[]) => unknown).apply(storage, args);
    };
  }
  return out as unknown as VfsSyncStorage;
}

async function load(spec: SyncBridgeSpec): Promise<VfsStorage> {
  const module = String(spec.module);
  const loaded = (await import(isAbsolute(module) ? pathToFileURL(module).href : module)) as Record<
    string,
    unknown
  >;
  const factory = loaded[spec.export ?? 'default'];
  if (typeof factory !== 'function') {
    throw await vfsError(
      'invalid-argument',
      `${module} has no function export "${spec.export ?? 'default'}"`,
    );
  }
  return (await factory(spec.options)) as VfsStorage;
}

/** An opened mount, and how to let go of it after the run. */
interface Opened {
  guestPath: string;
  storage: VfsSyncStorage;
  readOnly: boolean | undefined;
  close(): void;
}

async function open(mount: MountDescriptor, onDirty: (path: string, bytes: number) => void): Promise<Opened> {
  const { guestPath, readOnly } = mount;
  switch (mount.kind) {
    case 'direct': {
      const storage = await load(mount.spec);
      if (!storage?.sync) {
        storage?.close?.();
        throw await vfsError('invalid-argument', `${mount.label} has no synchronous twin`);
      }
      return { guestPath, storage: storage.sync, readOnly, close: () => storage.close() };
    }
    case 'bridge': {
      const bridge = createSyncBridge(mount.spec, { onDirty });
      try {
        // Backends connect lazily: an unreachable server fails the run here, not the guest's first call.
        bridge.exists('/');
      } catch (error) {
        try {
          bridge.close();
        } catch {
          // The probe's error is the one to report.
        }
        throw error;
      }
      return { guestPath, storage: bridge, readOnly, close: () => bridge.close() };
    }
    case 'host':
      return {
        guestPath,
        storage: (await core()).hostDirectory(mount.dir, { readOnly: mount.readOnly }),
        readOnly: mount.readOnly,
        close: () => {},
      };
    case 'served': {
      const bridge = connectSyncBridge(mount.channel, { onDirty });
      return { guestPath, storage: bridge, readOnly, close: () => bridge.close() };
    }
  }
}

/** Tells the caller which files hold buffered writes: on each change of state, and as they double. */
function dirtyReporter(mount: string): (path: string, bytes: number) => void {
  const reported = new Map<string, number>();
  return (path, bytes) => {
    const last = reported.get(path) ?? 0;
    if (bytes === 0) {
      if (last === 0) return;
      reported.delete(path);
    } else if (last > 0 && bytes < last * 2) {
      return;
    } else {
      reported.set(path, bytes);
    }
    post({ type: 'dirty', mount, path, bytes });
  };
}

async function run(request: RunRequest): Promise<void> {
  const control = new Int32Array(request.control);
  // Armed while the guest runs; the final flush must get through even when a stop was asked.
  let armed = true;
  const stopCode = () => (armed ? Atomics.load(control, STOP) : 0);
  const check = () => {
    const code = stopCode();
    if (code !== 0) throw new WasiExit(code === 1 ? 124 : 130);
  };

  const opened: Opened[] = [];
  const closeAll = () => {
    const failures: string[] = [];
    for (const mount of opened.splice(0).reverse()) {
      try {
        mount.close();
      } catch (error) {
        failures.push(`${mount.guestPath}: ${messageOf(error)}`);
      }
    }
    return failures;
  };
  for (const mount of request.mounts) {
    try {
      opened.push(await open(mount, dirtyReporter(mount.guestPath)));
    } catch (error) {
      closeAll();
      const wire = toWire(error);
      post({
        type: 'setup-failed',
        error: { ...wire, message: `mount ${mount.guestPath} (${mount.label}): ${wire.message}` },
      });
      return;
    }
  }

  const mounts: Record<string, WasiMount> = {};
  for (const mount of opened) {
    mounts[mount.guestPath] = {
      storage: guarded(mount.storage, request.operations, check),
      ...(mount.readOnly === undefined ? {} : { readOnly: mount.readOnly }),
    };
  }
  const output = (type: 'stdout' | 'stderr') => (chunk: Uint8Array) => {
    check();
    post({ type, chunk });
  };
  let host: WasiHost;
  try {
    host = createWasiHost({
      mounts,
      args: request.args,
      env: request.env,
      ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
      stdin:
        request.stdin === 'stream'
          ? streamedStdin(control, request.stdinBuffer!, check)
          : fixedStdin(request.stdin, check),
      onStdout: output('stdout'),
      onStderr: output('stderr'),
    });
  } catch (error) {
    closeAll();
    post({ type: 'setup-failed', error: toWire(error) });
    return;
  }

  let exitCode: number | undefined;
  let trap: string | undefined;
  try {
    const component = await importComponent(request.js);
    const instance = await component.instantiate(
      (file) => {
        const module = request.modules[file];
        if (!module) throw new Error(`the component has no core module ${file}`);
        return memories.track(module, `${request.js}\0${file}`);
      },
      host.imports,
      memories.instantiate,
    );
    check();
    post({ type: 'started' });
    instance.run.run();
    exitCode = 0;
  } catch (error) {
    if (error instanceof WasiExit) exitCode = host.exitCode;
    // `wasi:cli/run.run` returned its error: the command failed, as exit status 1 (as in wasmtime).
    else if ((error as object | undefined)?.constructor?.name === 'ComponentError') exitCode = 1;
    else trap = messageOf(error);
  }
  armed = false;
  let flushError: string | undefined;
  try {
    host.close();
  } catch (error) {
    flushError = messageOf(error);
  }
  const closeFailures = closeAll();
  if (closeFailures.length > 0) flushError = [flushError, ...closeFailures].filter(Boolean).join('; ');
  post({ type: 'done', exitCode, trap, flushError });
  // After answering: the caller need not wait for the clearing.
  memories.recycle();
}

/** Fixed stdin bytes; each read checks for a stop, as every other host call does. */
function fixedStdin(data: Uint8Array, check: () => void) {
  let position = 0;
  return (max: number): Uint8Array | null => {
    check();
    if (position >= data.length) return null;
    const chunk = data.subarray(position, position + max);
    position += chunk.length;
    return chunk;
  };
}

/**
 * Stdin from the caller's thread: blocks (`Atomics.wait`) until the caller put the next chunk or
 * the end, waking up to a stop request.
 */
function streamedStdin(control: Int32Array, buffer: SharedArrayBuffer, check: () => void) {
  const data = new Uint8Array(buffer);
  let pending: Uint8Array | undefined;
  return (max: number): Uint8Array | null => {
    for (;;) {
      check();
      if (pending && pending.length > 0) {
        const chunk = pending.subarray(0, max);
        pending = pending.subarray(chunk.length);
        return chunk;
      }
      const state = Atomics.load(control, STDIN_STATE);
      if (state === STDIN_EOF) return null;
      if (state === STDIN_EMPTY) {
        Atomics.wait(control, STDIN_STATE, STDIN_EMPTY);
        continue;
      }
      pending = data.slice(0, Atomics.load(control, STDIN_LENGTH));
      Atomics.store(control, STDIN_STATE, STDIN_EMPTY);
      Atomics.notify(control, STDIN_STATE);
    }
  };
}

port.on('message', (request: RunRequest | PreloadRequest) => {
  if (request.type === 'preload') {
    // A failure shows again, and is reported, when the run imports it.
    importComponent(request.js).catch(() => transpiled.delete(request.js));
    return;
  }
  run(request).catch((error: unknown) => {
    // Nothing above should throw; if it does, the run is over all the same.
    post({ type: 'done', exitCode: undefined, trap: messageOf(error), flushError: undefined });
  });
});
