import type { CliIo, GlobalFlags } from './context.js';
import { formatBytes, formatRate } from './format.js';

/** Progress of a long command (export, import, cp, gc): bytes and files done, totals when known. */
export interface Progress {
  /** Counts `bytes` (and `files`) more as done. */
  add(bytes: number, files?: number): void;
  /** Sets what the whole work amounts to, once known. */
  setTotal(bytes?: number, files?: number): void;
  /** Sets the counts done (for work that reports running totals) and, optionally, a new label. */
  set(bytes: number, files: number, label?: string): void;
  /** Draws the final state and releases the terminal line. */
  stop(): void;
}

const NONE: Progress = { add() {}, setTotal() {}, set() {}, stop() {} };

/**
 * A progress bar on stderr (bytes done, total when known, rate, files), drawn with cli-progress;
 * a no-op when stderr is not a terminal or with `--quiet`, so piped or logged output stays clean.
 */
export async function createProgress(
  io: Pick<CliIo, 'stderr'>,
  flags: Pick<GlobalFlags, 'quiet'>,
  label: string,
  total: { bytes?: number; files?: number; unit?: string } = {},
): Promise<Progress> {
  if (flags.quiet || io.stderr.isTTY !== true) return NONE;
  // Loaded only for a terminal: a piped command never pays for it.
  const { SingleBar } = await import('cli-progress');
  const started = Date.now();
  const state = { label, bytes: 0, files: 0, totalBytes: total.bytes, totalFiles: total.files };
  const line = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const parts: string[] = [];
    if (state.totalBytes !== undefined && state.totalBytes > 0) {
      const ratio = Math.min(state.bytes / state.totalBytes, 1);
      const width = 24;
      const filled = Math.round(ratio * width);
      parts.push(
        `${state.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${Math.floor(ratio * 100)}%`,
      );
      parts.push(`${formatBytes(state.bytes)} / ${formatBytes(state.totalBytes)}`);
    } else {
      parts.push(`${state.label} ${formatBytes(state.bytes)}`);
    }
    parts.push(formatRate(state.bytes / seconds));
    const unit = total.unit ?? 'file';
    parts.push(
      state.totalFiles !== undefined
        ? `${state.files}/${state.totalFiles} ${unit}s`
        : `${state.files} ${unit}${state.files === 1 ? '' : 's'}`,
    );
    return parts.join(' | ');
  };
  const bar = new SingleBar({
    stream: io.stderr as NodeJS.WritableStream,
    format: () => line(),
    hideCursor: true,
    clearOnComplete: false,
    fps: 10,
  });
  bar.start(1, 0);
  return {
    add(bytes, files = 0) {
      state.bytes += bytes;
      state.files += files;
      bar.update(0);
    },
    set(bytes, files, text) {
      state.bytes = bytes;
      state.files = files;
      if (text !== undefined) state.label = text;
      bar.update(0);
    },
    setTotal(bytes, files) {
      state.totalBytes = bytes;
      state.totalFiles = files;
      bar.update(0);
    },
    stop() {
      bar.update(0);
      bar.stop();
    },
  };
}
