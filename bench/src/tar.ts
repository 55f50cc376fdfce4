import { exportTar, importTar } from '@eryx/vfs-core/tar';
import type { BenchBackend } from './types.js';

/*
 * The tar workload: `files` small files (200 bytes, in directories of 100) written with `write` —
 * the backend's create rate — then the same tree exported with `exportTar` and piped straight into
 * `importTar` under another directory of the same store. The ratio is the files per second of the
 * export and import together over the files per second of the writes, best of the rounds for each;
 * the target is at least 0.5.
 */

/** What {@link benchTar} measured on one backend. */
export interface TarRow {
  files: number;
  /** Files per second of `write` (the create rate). */
  createPerSec: number;
  /** Files per second of export piped into import. */
  tarPerSec: number;
  /** `tarPerSec / createPerSec`; the target is >= 0.5. */
  ratio: number;
  createMs: number;
  tarMs: number;
}

/** The target for {@link TarRow.ratio}. */
export const TAR_TARGET = 0.5;

const PER_DIRECTORY = 100;

/** Measures the tar workload with `files` files, keeping the best of `repeat` rounds of each phase. */
export async function benchTar(backend: BenchBackend, files: number, repeat: number): Promise<TarRow> {
  let createMs = Number.POSITIVE_INFINITY;
  let tarMs = Number.POSITIVE_INFINITY;
  const body = new Uint8Array(200).map((_, i) => (i * 31 + 7) & 0xff);
  // A fresh store per round, so that no round works in a store the previous one filled.
  for (let round = -1; round < repeat; round++) {
    // Round -1 is an untimed warm-up at a tenth of the size.
    const n = round < 0 ? Math.max(1, Math.round(files / 10)) : files;
    const { storage, close } = await backend.open();
    try {
      await storage.mkdir('/src');
      const dirs = Math.ceil(n / PER_DIRECTORY);
      for (let d = 0; d < dirs; d++) await storage.mkdir(`/src/d${d}`);
      let start = performance.now();
      for (let i = 0; i < n; i++) await storage.write(`/src/d${Math.floor(i / PER_DIRECTORY)}/f${i}`, body);
      const create = performance.now() - start;
      start = performance.now();
      const stats = await importTar(storage, exportTar(storage, { root: '/src' }), { root: '/copy' });
      const tar = performance.now() - start;
      if (stats.files !== n) throw new Error(`tar: imported ${stats.files} files, expected ${n}`);
      if (round >= 0) {
        createMs = Math.min(createMs, create);
        tarMs = Math.min(tarMs, tar);
      }
    } finally {
      await close();
    }
  }
  const createPerSec = files / (createMs / 1000);
  const tarPerSec = files / (tarMs / 1000);
  return { files, createPerSec, tarPerSec, ratio: tarPerSec / createPerSec, createMs, tarMs };
}

/** The Markdown table of the tar workload, one row per backend. */
export function formatTar(rows: Record<string, TarRow>, repeat: number): string[] {
  const lines = [
    `\n## tar export + import (best of ${repeat}; ratio = files/s of export+import ÷ files/s of write, target ≥ ${TAR_TARGET})\n`,
    '| backend | files | write files/s | export+import files/s | ratio | |',
    '|:--|--:|--:|--:|--:|:--|',
  ];
  for (const [name, r] of Object.entries(rows)) {
    lines.push(
      `| ${name} | ${r.files} | ${r.createPerSec.toFixed(0)} | ${r.tarPerSec.toFixed(0)} | ${r.ratio.toFixed(2)} | ${
        r.ratio >= TAR_TARGET ? 'ok' : 'MISSED'
      } |`,
    );
  }
  return lines;
}
