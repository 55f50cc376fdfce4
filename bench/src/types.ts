import type { VfsStorage } from '@eryx/vfs-core';

/**
 * The operations the workloads use. A `VfsStorage` satisfies it as is; each backend's raw ceiling
 * implements it directly on the client (a plain chunk table, plain objects), with no metadata
 * bookkeeping beyond what the operation needs, so the ratio shows what the VFS layer costs.
 */
export interface BenchTarget {
  mkdir(path: string): Promise<void>;
  write(path: string, data: Uint8Array): Promise<void>;
  writeAt(path: string, offset: number, data: Uint8Array): Promise<void>;
  readAt(path: string, offset: number, length: number): Promise<Uint8Array>;
  append(path: string, data: Uint8Array): Promise<number>;
  setSize(path: string, size: number): Promise<void>;
  list(path: string): Promise<readonly { name: string }[]>;
  stat(path: string): Promise<{ size: number }>;
  delete(path: string): Promise<void>;
}

/** One backend under benchmark: a fresh store and its raw ceiling, on the same server, same run. */
export interface BenchBackend {
  name: string;
  /** Opens a fresh, empty store and its raw ceiling. `close` drops both and their data. */
  open(): Promise<{ storage: VfsStorage; raw: BenchTarget; close(): Promise<void> }>;
  /** Stops what the backend started for the whole run (a server), after its last `close`. */
  shutdown?(): Promise<void>;
}
