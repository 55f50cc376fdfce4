/**
 * Streaming tar import and export of a {@link VfsStorage} tree (`@eryx/vfs-core/tar`), on
 * `tar-stream`. Neither side ever holds a whole file or the whole tree in memory.
 * @module
 */
export { type ExportTarOptions, exportTar } from './export.js';
export { type ImportTarOptions, importTar, type TarSource } from './import.js';

/** What an export or an import went through: the totals, and the running counts of `onProgress`. */
export interface TarStats {
  /** Files exported or imported. */
  files: number;
  /** Directories exported or imported (the root itself is not counted). */
  directories: number;
  /** Symbolic links exported or imported (as links: see `importTar` for stores without them). */
  links: number;
  /**
   * Hard links: the later names of a file with several, exported or imported as tar `link` entries
   * (the file itself counts once, in `files`).
   */
  hardLinks: number;
  /** Bytes of file content (not of the archive). */
  bytes: number;
  /**
   * Entries left out: devices and fifos, and symbolic and hard links where the store keeps none,
   * that an import skipped under `skipUnsupported`.
   */
  skipped: number;
}

/** Options both directions share. */
export interface TarOptions {
  /**
   * The directory of the storage the archive's names are relative to: exported from, or imported
   * under (created, with its parents, when missing). Default `/`.
   */
  root?: string;
  /** Called after each entry with the counts so far; the last call has the totals. */
  onProgress?(stats: Readonly<TarStats>): void;
  /** Stops the export or import between two storage calls; the error is the signal's reason. */
  signal?: AbortSignal;
  /**
   * Bytes per storage call for file content: an export reads with `readAt` in pieces this big, an
   * import writes a file up to this size with one `write` and a larger one in pieces this big (a
   * `write`, then `writeAt`). Bounds the memory either side holds per file. Default 4 MiB.
   */
  chunkSize?: number;
}
