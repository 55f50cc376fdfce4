import type { FilesystemClock } from '../fs-clock.js';

/*
 * What the bench guest (guests/src/bench.c) is asked and what it reports: its arguments at a scale,
 * and the `phase` lines of its stdout, of which the best time per phase is kept.
 */

/** One phase as the guest reported it. */
export interface GuestPhase {
  name: string;
  ops: number;
  bytes: number;
  ms: number;
  /**
   * Of `ms`, the time spent inside the filesystem's own code (see {@link FilesystemClock}), for
   * the targets measured phase by phase in turn. Kept apart from `ms`: the best of each is kept.
   */
  fsMs?: number;
  /**
   * Every time measured for the phase (ms), in the order measured, of which `ms` is the least.
   * For two targets measured phase by phase in turn, the k-th of one and the k-th of the other
   * were measured one right after the other (in the JSON results, for analysis).
   */
  samples?: number[];
}

/** What one target (a backend or a baseline) got, or why it failed. */
export interface GuestResult {
  target: string;
  phases: GuestPhase[];
  error?: string;
}

/** The guest's arguments at a scale (1 = the sizes). */
export function guestArgs(scale: number): string[] {
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const bytes = (n: number, unit: number) => Math.max(1, Math.round((n * scale) / unit)) * unit;
  return [
    `seq=${bytes(16 * 1024 * 1024, 64 * 1024)}`,
    `rand=${count(2000)}`,
    `randfile=${bytes(16 * 1024 * 1024, 4096)}`,
    `append=${count(10_000)}`,
    `files=${count(1000)}`,
    'readdir=5',
  ];
}

/**
 * `phase <name> <ops> <bytes> <ns>` lines of the guest's stdout; with `iterations=` a phase has one
 * line per iteration, and the fastest is kept. `fsMs`: the filesystem time of each line, in order.
 */
function parsePhases(stdout: string, fsMs?: readonly number[]): GuestPhase[] {
  const phases: GuestPhase[] = [];
  let line = 0;
  for (const text of stdout.split('\n')) {
    const m = /^phase (\S+) (\d+) (\d+) (\d+)$/.exec(text.trim());
    if (!m) continue;
    const ms = Number(m[4]) / 1e6;
    const phase: GuestPhase = { name: m[1]!, ops: Number(m[2]), bytes: Number(m[3]), ms, samples: [ms] };
    if (fsMs) {
      // One report per gated phase: a missing or extra one would pair times with the wrong phase.
      if (line >= fsMs.length) throw new Error(`no filesystem time for phase report ${line + 1}`);
      phase.fsMs = fsMs[line];
    }
    line++;
    const seen = phases.findIndex((p) => p.name === phase.name);
    if (seen < 0) phases.push(phase);
    else phases[seen] = bestOf([phases[seen]!], [phase])[0]!;
  }
  if (fsMs && line !== fsMs.length) throw new Error(`${fsMs.length} timed phases, ${line} reported`);
  return phases;
}

/** The phases of a finished run, or an error naming `target` when it failed or reported none. */
export function outcome(
  target: string,
  code: number,
  stdout: string,
  stderr: string,
  clock?: FilesystemClock,
): GuestPhase[] {
  if (code !== 0) throw new Error(`${target}: the guest exited with status ${code}: ${stderr.trim()}`);
  const phases = parsePhases(stdout, clock?.phases);
  if (phases.length === 0) throw new Error(`${target}: the guest reported no phase: ${stderr.trim()}`);
  return phases;
}

/**
 * The faster of each phase of two results (the first may be empty); the least filesystem time of
 * the two is kept apart, whichever run it came from, and the samples of both, in order.
 */
export function bestOf(a: GuestPhase[], b: GuestPhase[]): GuestPhase[] {
  if (a.length === 0) return b;
  return a.map((p, i) => {
    const q = b[i]!;
    const best = q.ms < p.ms ? q : p;
    const fsMs = p.fsMs === undefined || q.fsMs === undefined ? undefined : Math.min(p.fsMs, q.fsMs);
    const samples = [...(p.samples ?? [p.ms]), ...(q.samples ?? [q.ms])];
    return fsMs === undefined ? { ...best, samples } : { ...best, fsMs, samples };
  });
}
