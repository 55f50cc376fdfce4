import { describe, expect, it } from 'vitest';
import { formatGuest, type GuestResult, guestRatios } from '../src/guest.js';
import { MIN_ROUNDS, pairedRatio, verdict } from '../src/paired.js';

/** `rounds` rounds of `perRound` baseline times, varied as a noisy machine varies them. */
function baselineTimes(rounds: number, perRound: number): number[] {
  return Array.from({ length: rounds * perRound }, (_, k) => 100 + ((k * 37) % 23) * 3);
}

describe('the paired ratio of two targets', () => {
  it('is the median of the k-th time over the k-th baseline time', () => {
    const base = baselineTimes(6, 4);
    const r = pairedRatio(
      base.map((t) => t * 0.9),
      base,
      6,
    )!;
    expect(r.median).toBeCloseTo(0.9, 10);
    expect(r.low).toBeCloseTo(0.9, 10);
    expect(r.high).toBeCloseTo(0.9, 10);
    expect(r).toMatchObject({ pairs: 24, rounds: 6 });
    expect(verdict(r, 1)).toBe('met');
    expect(verdict(r, 0.8)).toBe('missed');
  });

  it('pairs by position: one fast moment of the baseline does not decide it', () => {
    // The baseline caught one fast moment that the target never saw: the best-of ratio is above 1,
    // yet the target won every other pair, each measured right next to its partner.
    const base = [90, ...new Array<number>(9).fill(100)];
    const times = new Array<number>(10).fill(95);
    expect(Math.min(...times) / Math.min(...base)).toBeGreaterThan(1);
    const r = pairedRatio(times, base, 5)!;
    expect(r.median).toBeCloseTo(0.95, 10);
    expect(verdict(r, 1)).toBe('met');
  });

  it('gives no interval with fewer rounds than it needs, and says so', () => {
    const base = baselineTimes(MIN_ROUNDS - 1, 6);
    const r = pairedRatio(
      base.map((t) => t * 0.5),
      base,
      MIN_ROUNDS - 1,
    )!;
    expect(r.median).toBeCloseTo(0.5, 10);
    expect(r.low).toBeUndefined();
    expect(r.high).toBeUndefined();
    expect(verdict(r, 1)).toBe('too few rounds');
  });

  it('treats a round, not a time, as the independent unit', () => {
    // The same 24 ratios: spread alike over every round, or one level per round. Only the second
    // leaves the median in doubt, since a round's times share their processes' luck.
    const levels = [0.8, 0.9, 1.1, 1.2, 0.95, 1.05];
    const base = new Array(36).fill(100);
    const mixed = base.map((t, k) => t * levels[k % 6]!);
    const grouped = base.map((t, k) => t * levels[Math.floor(k / 6)]!);
    const a = pairedRatio(mixed, base, 6)!;
    const b = pairedRatio(grouped, base, 6)!;
    expect(a.median).toBeCloseTo(b.median, 10);
    expect(a.high! - a.low!).toBeCloseTo(0, 10);
    expect(b.low!).toBeLessThan(0.95);
    expect(b.high!).toBeGreaterThan(1.05);
    expect(verdict(b, 1)).toBe('unresolved');
  });

  it('gives the same interval for the same times', () => {
    const base = baselineTimes(8, 6);
    const times = base.map((t, k) => t * (0.9 + ((k * 13) % 7) / 30));
    expect(pairedRatio(times, base, 8)).toEqual(pairedRatio(times, base, 8));
  });

  it('refuses times that cannot be paired', () => {
    expect(pairedRatio([1, 2, 3], [1, 2], 1)).toBeUndefined();
    expect(pairedRatio([1, 2, 3], [1, 2, 3], 2)).toBeUndefined();
    expect(pairedRatio([], [], 1)).toBeUndefined();
    expect(pairedRatio([1, 0], [1, 1], 1)).toBeUndefined();
    expect(pairedRatio([1, Number.NaN], [1, 1], 1)).toBeUndefined();
    expect(pairedRatio([1, 1], [1, 1], 0)).toBeUndefined();
  });
});

describe('the guest target ratios', () => {
  const rounds = 6;
  const perRound = 6;
  const base = baselineTimes(rounds, perRound);
  const phase = (name: string, times: number[]) => ({
    name,
    ops: 1000,
    bytes: 0,
    ms: Math.min(...times),
    samples: times,
  });
  const results = (factors: Record<string, (k: number) => number>): GuestResult[] => [
    {
      target: 'memory',
      phases: Object.entries(factors).map(([name, f]) =>
        phase(
          name,
          base.map((t, k) => t * f(k)),
        ),
      ),
    },
    { target: 'p2shim-memory', phases: Object.keys(factors).map((name) => phase(name, base)) },
  ];

  it('meet the target when every phase interval lies within it', () => {
    const r = guestRatios(results({ small_create: () => 0.9, append: () => 0.97 }), rounds)[0]!;
    expect(r.pairedVerdict).toBe('met');
    expect(r.paired.small_create!.median).toBeCloseTo(0.9, 10);
    const text = formatGuest(results({ small_create: () => 0.9 }), 1, rounds).join('\n');
    expect(text).toContain('memory vs p2shim-memory, paired ratios: target met on every phase');
    expect(text).toContain('0.90 (0.90–0.90) ok');
  });

  it('miss the target when one phase is slower in every round', () => {
    const r = guestRatios(results({ small_create: () => 0.9, append: () => 1.05 }), rounds)[0]!;
    expect(r.pairedVerdict).toBe('missed');
    const text = formatGuest(results({ small_create: () => 0.9, append: () => 1.05 }), 1, rounds).join('\n');
    expect(text).toContain('paired ratios: target MISSED on append');
  });

  it('leave the target unresolved when a phase interval straddles it', () => {
    const swing = (k: number) => (Math.floor(k / perRound) % 2 === 0 ? 0.85 : 1.15);
    const r = guestRatios(results({ small_create: () => 0.9, readdir: swing }), rounds)[0]!;
    expect(r.pairedVerdict).toBe('unresolved');
    expect(formatGuest(results({ readdir: swing }), 1, rounds).join('\n')).toContain(
      'paired ratios: not resolved on readdir',
    );
  });

  it('say how many rounds an interval needs when there are too few', () => {
    const few = results({ small_create: () => 0.9 }).map((r) => ({
      ...r,
      phases: r.phases.map((p) => ({ ...p, samples: p.samples!.slice(0, 2 * perRound) })),
    }));
    const r = guestRatios(few, 2)[0]!;
    expect(r.pairedVerdict).toBe('too few rounds');
    expect(formatGuest(few, 1, 2).join('\n')).toContain(`an interval needs ≥ ${MIN_ROUNDS} rounds`);
  });
});
