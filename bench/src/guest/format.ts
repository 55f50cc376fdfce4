import { MIN_ROUNDS, type Verdict, verdict } from '../paired.js';
import type { GuestPhase, GuestResult } from './phases.js';
import { type GuestRatio, guestRatios } from './ratios.js';
import { GUEST_BINDINGS } from './session.js';
import { SQLITE_SYNCHRONOUS } from './targets.js';

/*
 * The guest bench's Markdown output: the phase × target throughput table, then the best-of and
 * paired target ratios with their verdicts, then the time inside the filesystems alone.
 */

/** Throughput of a phase: MB/s for the sequential phases, ops/s for the others. */
function throughput(phase: GuestPhase): { value: number; unit: 'MB/s' | 'ops/s' } {
  const seconds = phase.ms / 1000;
  return phase.name.startsWith('seq_')
    ? { value: phase.bytes / (1024 * 1024) / seconds, unit: 'MB/s' }
    : { value: phase.ops / seconds, unit: 'ops/s' };
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtMs = (n: number | undefined) => (n === undefined ? '-' : fmt(n));

function table(header: string[], lines: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    row(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...lines.map(row),
  ];
}

/** A phase × target ratio table, one column per ratio, its cells from `cell`. */
function ratioTable(
  ratios: GuestRatio[],
  names: string[],
  cell: (r: GuestRatio, phase: string) => string,
): string[] {
  return table(
    [
      'phase',
      ...ratios.map(
        (r) => `${r.target} ÷ ${r.baseline} (${r.max === undefined ? 'no target' : `≤ ${r.max}`})`,
      ),
    ],
    names.map((name) => [name, ...ratios.map((r) => cell(r, name))]),
  );
}

const VERDICT_MARK: Record<Verdict, string> = {
  met: 'ok',
  missed: 'MISSED',
  unresolved: 'unresolved',
  'too few rounds': '',
};

/** The phase × target table and the target ratios, as Markdown lines. */
export function formatGuest(
  results: GuestResult[],
  scale: number,
  repeat: number,
  runs = 1,
  iterations = 1,
): string[] {
  const ok = results.filter((r) => !r.error && r.phases.length > 0);
  const names = ok[0]?.phases.map((p) => p.name) ?? [];
  const out = [
    `\n## guest: bench.c through WASI (${GUEST_BINDINGS} bindings, BENCH_GUEST_BINDINGS; scale ${scale}, best of ${repeat} rounds × ${runs} runs × ${iterations} iterations; MB/s for seq_*, ops/s otherwise)\n`,
  ];
  out.push(
    ...table(
      ['phase', 'ops', 'unit', ...ok.map((r) => r.target)],
      names.map((name, i) => {
        const first = ok[0]!.phases[i]!;
        return [
          name,
          String(first.ops),
          throughput(first).unit,
          ...ok.map((r) => {
            const p = r.phases.find((x) => x.name === name);
            return p ? fmt(throughput(p).value) : '-';
          }),
        ];
      }),
    ),
  );
  if (ok.some((r) => r.target.startsWith('sqlite'))) {
    out.push(
      `\nsqlite: synchronous=${SQLITE_SYNCHRONOUS} (BENCH_SQLITE_SYNCHRONOUS; normal is the backend's default: commits reach the disk at the guest's fsync, which these phases never call, and at the end of the run)` +
        (SQLITE_SYNCHRONOUS === 'full'
          ? ''
          : '; sqlite-full: synchronous=full, every write an fsynced commit'),
    );
  }
  for (const r of results.filter((x) => x.error)) out.push(`\n${r.target}: FAILED: ${r.error}`);
  const ratios = guestRatios(results, repeat);
  if (ratios.length > 0) {
    out.push('\ntarget ratios (time ÷ baseline time, per phase; lower is better)\n');
    out.push(
      ...ratioTable(ratios, names, (r, name) => {
        const v = r.phases[name];
        if (v === undefined) return '-';
        if (r.max === undefined) return v.toFixed(2);
        return `${v.toFixed(2)} ${v <= r.max ? 'ok' : 'MISSED'}`;
      }),
    );
    for (const r of ratios.filter((x) => x.max !== undefined)) {
      out.push(
        `\n${r.target} vs ${r.baseline}, best-of ratios: ${r.met ? 'target met on every phase' : 'target MISSED'}`,
      );
    }
  }
  const paired = ratios.filter((r) => Object.keys(r.paired).length > 0);
  if (paired.length > 0) {
    out.push(
      `\npaired ratios (median of the k-th time ÷ the baseline's k-th time of the same round, measured right next to it where the two run phase by phase in turn; over ${repeat} rounds, with the 95% interval from resampling rounds; lower is better)\n`,
    );
    out.push(
      ...ratioTable(paired, names, (r, name) => {
        const v = r.paired[name];
        if (!v) return '-';
        const interval = v.low === undefined ? '' : ` (${v.low.toFixed(2)}–${v.high!.toFixed(2)})`;
        const mark = r.max === undefined ? '' : VERDICT_MARK[verdict(v, r.max)];
        return `${v.median.toFixed(2)}${interval}${mark ? ` ${mark}` : ''}`;
      }),
    );
    for (const r of paired) {
      const { max, pairedVerdict: v } = r;
      if (max === undefined || v === undefined) continue;
      // The phases that gave the verdict (for missed and not resolved).
      const which = names.filter((n) => r.paired[n] && verdict(r.paired[n]!, max) === v).join(', ');
      const says: Record<Verdict, string> = {
        met: `target met on every phase (every interval within ≤ ${max})`,
        missed: `target MISSED on ${which} (interval above ${max})`,
        unresolved: `not resolved on ${which} (interval straddles ${max}; more rounds narrow it: BENCH_REPEAT)`,
        'too few rounds': `an interval needs ≥ ${MIN_ROUNDS} rounds (BENCH_REPEAT)`,
      };
      out.push(`\n${r.target} vs ${r.baseline}, paired ratios: ${says[v]}`);
    }
  }
  for (const r of ratios.filter((x) => Object.keys(x.fsPhases).length > 0)) {
    const fsMs = (target: string, phase: string) =>
      results.find((x) => x.target === target)?.phases.find((p) => p.name === phase)?.fsMs;
    out.push(
      `\ntime inside the filesystem alone, ${r.target} and ${r.baseline} (ms, best; ${
        GUEST_BINDINGS === 'hybrid'
          ? "with hybrid bindings a filesystem's direct lowerings count whole, their decoding and encoding of arguments and results included, which jco's glue does for a filesystem without them"
          : "the rest of a phase is jco's glue and the guest, the same code for both"
      }; for information)\n`,
    );
    out.push(
      ...table(
        ['phase', r.target, r.baseline, 'ratio'],
        names.map((name) => {
          const ratio = r.fsPhases[name];
          return [
            name,
            fmtMs(fsMs(r.target, name)),
            fmtMs(fsMs(r.baseline, name)),
            ratio === undefined ? '-' : ratio.toFixed(2),
          ];
        }),
      ),
    );
  }
  return out;
}
