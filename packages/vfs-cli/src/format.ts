/** `1536` -> `1.5 KiB`: binary units, one decimal from KiB up. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A rate in bytes per second, as `12.3 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Milliseconds since the epoch as a local `YYYY-MM-DD HH:MM` (what `ls -l` shows). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Milliseconds since the epoch as an ISO 8601 string (what `stat` and `--json` show). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A duration given on the command line: `30s`, `1.5m`, `500ms`, `2h`, or a bare number of seconds.
 * Returns milliseconds, or `undefined` when `text` is not one.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const value = Number(match[1]) * factor;
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
}
