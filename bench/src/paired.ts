/*
 * The paired comparison of two guest targets' phase times. A best-of ratio (the least time of one
 * ÷ the least of the other) is one draw from the two fastest moments of a noisy machine: on the
 * 2-core VM this bench was written on, preview2-shim's in-memory filesystem compared with itself
 * gave best-of ratios from 0.75 to 1.31. Here each of a target's times is divided by the baseline
 * time measured next to it (the k-th of each), and the median of those ratios is the estimate.
 * Its interval comes from resampling whole rounds: the times of one round share their measuring
 * processes (and so their JIT's luck), so a round, not a time, is the independent unit.
 */

/** The median of a target's paired time ratios to its baseline, with a 95% interval. */
export interface PairedRatio {
  /** The median of the k-th time ÷ the k-th baseline time, over every pair. */
  median: number;
  /**
   * The 95% interval of the median (percentile bootstrap over rounds); absent with fewer than
   * {@link MIN_ROUNDS} rounds, where resampling rounds says little.
   */
  low?: number;
  high?: number;
  pairs: number;
  rounds: number;
}

/** The fewest rounds from which an interval is given. */
export const MIN_ROUNDS = 5;

const RESAMPLES = 4000;

/** What a phase's paired ratio says about a target ratio `max`. */
export type Verdict = 'met' | 'missed' | 'unresolved' | 'too few rounds';

export function verdict(ratio: PairedRatio, max: number): Verdict {
  if (ratio.low === undefined || ratio.high === undefined) return 'too few rounds';
  if (ratio.high <= max) return 'met';
  if (ratio.low > max) return 'missed';
  return 'unresolved';
}

/**
 * Pairs the k-th of `times` with the k-th of `baseline` (both in the order measured, `rounds`
 * equal blocks of them, one per round). `undefined` when they cannot be paired.
 */
export function pairedRatio(
  times: readonly number[],
  baseline: readonly number[],
  rounds: number,
): PairedRatio | undefined {
  const n = times.length;
  if (n === 0 || n !== baseline.length || !Number.isInteger(rounds) || rounds < 1 || n % rounds !== 0)
    return undefined;
  if (![...times, ...baseline].every((t) => Number.isFinite(t) && t > 0)) return undefined;
  const perRound = n / rounds;
  // Log ratios, so that 0.8 and 1.25 are as far from 1 on either side.
  const logs = times.map((t, k) => Math.log(t / baseline[k]!));
  const byRound = Array.from({ length: rounds }, (_, r) => logs.slice(r * perRound, (r + 1) * perRound));
  const median = Math.exp(medianOf(logs));
  if (rounds < MIN_ROUNDS) return { median, pairs: n, rounds };
  // A fixed seed: the same times always give the same interval.
  const random = mulberry32(0x5eed);
  const medians: number[] = [];
  const pool = new Array<number>(n);
  for (let i = 0; i < RESAMPLES; i++) {
    for (let r = 0; r < rounds; r++) {
      const round = byRound[Math.floor(random() * rounds)]!;
      for (let k = 0; k < perRound; k++) pool[r * perRound + k] = round[k]!;
    }
    medians.push(medianOf(pool));
  }
  medians.sort((a, b) => a - b);
  return {
    median,
    low: Math.exp(medians[Math.floor(RESAMPLES * 0.025)]!),
    high: Math.exp(medians[Math.ceil(RESAMPLES * 0.975) - 1]!),
    pairs: n,
    rounds,
  };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A small seeded generator (uniform in [0, 1)), so intervals are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
