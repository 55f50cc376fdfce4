import type { SyncBridgeChannel, SyncBridgeSpec } from '@eryx/vfs-core/bridge';

/*
 * What the caller's thread and a guest worker tell each other. One shared Int32Array (`control`)
 * carries what must reach a worker that is busy in the guest: the stop request and the stdin
 * hand-over; everything else is a message.
 */

/** Slot of `control`: 0 while the guest may run, else the {@link StopReason} code. */
export const STOP = 0;
/** Slot: the stdin hand-over state (one of the `STDIN_*` constants). */
export const STDIN_STATE = 1;
/** Slot: bytes of the current stdin chunk in the stdin buffer. */
export const STDIN_LENGTH = 2;
export const CONTROL_SLOTS = 4;

/** Stop codes stored in `control[STOP]`. */
export const STOP_TIMEOUT = 1;
export const STOP_ABORT = 2;

/** The worker waits for the caller to put the next chunk of stdin. */
export const STDIN_EMPTY = 0;
/** A chunk of `control[STDIN_LENGTH]` bytes is in the stdin buffer. */
export const STDIN_READY = 1;
/** End of input. */
export const STDIN_EOF = 2;

/** Bytes of stdin handed over at once. */
export const STDIN_BUFFER_BYTES = 64 * 1024;

/** How a mount reaches the worker, rebuilt there. */
export type MountDescriptor =
  /** A synchronous backend (memory, SQLite) the worker opens itself and uses through `.sync`. */
  | { kind: 'direct'; guestPath: string; label: string; spec: SyncBridgeSpec; readOnly?: boolean }
  /** An asynchronous backend (PostgreSQL, S3) behind a sync bridge the worker starts. */
  | { kind: 'bridge'; guestPath: string; label: string; spec: SyncBridgeSpec; readOnly?: boolean }
  /** A host directory. */
  | { kind: 'host'; guestPath: string; label: string; dir: string; readOnly: boolean }
  /** A storage object the caller's thread serves (`serveStorage`). */
  | { kind: 'served'; guestPath: string; label: string; channel: SyncBridgeChannel; readOnly?: boolean };

/** A compiled core module (`WebAssembly.Module`; the repo's `lib` has no WebAssembly types). */
export type CoreModule = object;

/** Caller -> worker: run one guest. */
export interface RunRequest {
  type: 'run';
  /** `file:` URL of the transpiled component's JS module. */
  js: string;
  /** The component's core modules, compiled, by file name. */
  modules: Record<string, CoreModule>;
  mounts: MountDescriptor[];
  /** The storage operations (core's `STORAGE_OPERATIONS`): each checks for a stop request. */
  operations: readonly string[];
  args: string[];
  env: Record<string, string>;
  cwd: string | undefined;
  /** Fixed stdin bytes, or `'stream'`: read it through `control` and `stdinBuffer`. */
  stdin: Uint8Array | 'stream';
  control: SharedArrayBuffer;
  stdinBuffer: SharedArrayBuffer | undefined;
}

/** Caller -> worker: import a component's JS now, ahead of the run that will need it. */
export interface PreloadRequest {
  type: 'preload';
  /** `file:` URL of the transpiled component's JS module. */
  js: string;
}

/** A VfsError as it crosses to the caller. */
export interface WireError {
  code: string;
  message: string;
  path: string | undefined;
}

/** Worker -> caller. */
export type WorkerMessage =
  /** What the guest wrote, chunk by chunk as it wrote it (killed or not, the caller has it). */
  | { type: 'stdout' | 'stderr'; chunk: Uint8Array }
  /** The buffered bytes of a file of a mount changed (0: all stored or dropped). */
  | { type: 'dirty'; mount: string; path: string; bytes: number }
  /** The guest is instantiated and starts now (the timeout counts from here). */
  | { type: 'started' }
  /** The mounts could not be opened: the run fails with this error. */
  | { type: 'setup-failed'; error: WireError }
  | {
      type: 'done';
      /** `undefined` when the guest did not exit (it trapped, or it was stopped). */
      exitCode: number | undefined;
      /** The guest trapped (or the instantiation failed): its message. */
      trap: string | undefined;
      /** Storing the buffered writes at the end failed: the message. */
      flushError: string | undefined;
    };
