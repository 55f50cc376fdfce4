import { type PairedRatio, pairedRatio, type Verdict, verdict } from '../paired.js';
import type { GuestResult } from './phases.js';
import { GUEST_TARGET_RATIOS } from './targets.js';

/*
 * The target ratios of a run: for each compared pair of GUEST_TARGET_RATIOS, per phase, the
 * best-of ratio and the paired ratio (paired.ts) with the verdict they give on the target.
 */

/** One target ratio per phase: the target's time divided by the baseline's (lower is better). */
export interface GuestRatio {
  target: string;
  baseline: string;
  /** The largest ratio that meets the target; `undefined` when the ratio is for information. */
  max: number | undefined;
  /** The best-of ratio: the target's least time ÷ the baseline's least time. */
  phases: Record<string, number>;
  /**
   * The same ratio for the time inside the filesystems alone (see fs-clock.ts), when
   * both were measured phase by phase in turn. For information: the target is on `phases`.
   */
  fsPhases: Record<string, number>;
  /** Whether every best-of ratio is within `max`. */
  met: boolean;
  /** The paired ratio of each phase (see paired.ts), when both kept every time of every round. */
  paired: Record<string, PairedRatio>;
  /**
   * What the paired ratios say about `max` (absent without one): `met` when every phase's interval
   * lies within it, `missed` when some phase's lies beyond, `unresolved` when some straddles it.
   */
  pairedVerdict?: Verdict;
}

/** The target ratios of the results of `rounds` rounds. */
export function guestRatios(results: GuestResult[], rounds: number): GuestRatio[] {
  const byName = new Map(results.filter((r) => !r.error).map((r) => [r.target, r.phases]));
  const ratios: GuestRatio[] = [];
  for (const { target, baseline, max } of GUEST_TARGET_RATIOS) {
    const a = byName.get(target);
    const b = byName.get(baseline);
    if (!a || !b) continue;
    const phases: Record<string, number> = {};
    const fsPhases: Record<string, number> = {};
    const paired: Record<string, PairedRatio> = {};
    for (const p of a) {
      const q = b.find((x) => x.name === p.name);
      if (!q) continue;
      phases[p.name] = p.ms / q.ms;
      if (p.fsMs !== undefined && q.fsMs !== undefined) fsPhases[p.name] = p.fsMs / q.fsMs;
      const ratio = p.samples && q.samples && pairedRatio(p.samples, q.samples, rounds);
      if (ratio) paired[p.name] = ratio;
    }
    const met = max === undefined || Object.values(phases).every((r) => r <= max);
    // The worst phase decides; a phase without a paired ratio leaves the target without a verdict.
    const verdicts = max === undefined ? [] : Object.values(paired).map((r) => verdict(r, max));
    const pairedVerdict =
      verdicts.length === 0 || verdicts.length < a.length
        ? undefined
        : (['missed', 'too few rounds', 'unresolved', 'met'] as const).find((v) => verdicts.includes(v));
    ratios.push({ target, baseline, max, phases, fsPhases, met, paired, pairedVerdict });
  }
  return ratios;
}
