import { describe, expect, it } from 'vitest';
import { exactNs, isStorableNs, msAtOrBefore, msToNs, nsToMs } from '../src/time.js';

/** `d * 1e6` as an exact rational compared with `ns`, by decimal strings (independent of time.ts). */
function exactlyAtOrBefore(d: number, ns: bigint): boolean {
  // A double's exact decimal expansion: toFixed(20) is exact for |d| < 1e21 only to 20 digits, so
  // scale by 2^k instead: d = m / 2^k with m an integer.
  let k = 0n;
  let m = d;
  while (!Number.isInteger(m)) {
    m *= 2;
    k++;
  }
  return BigInt(m) * 1_000_000n <= ns << k;
}

const nextUp = (d: number) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, d >= 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
};

function* samples(): Generator<bigint> {
  yield* [0n, 1n, -1n, 999_999n, 1_000_000n, -1_000_001n, 2n ** 63n - 1n, -(2n ** 63n)];
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 5000; i++) {
    // xorshift over 64 bits, read as signed; half of them near today's dates.
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    const signed = BigInt.asIntN(64, x);
    yield i % 2 === 0 ? signed : 1_700_000_000_000_000_000n + (signed % 100_000_000_000_000_000n);
  }
}

describe('time conversions', () => {
  it('msAtOrBefore gives the latest double of milliseconds at or before the nanoseconds', () => {
    for (const ns of samples()) {
      const d = msAtOrBefore(ns);
      expect(exactlyAtOrBefore(d, ns), `${d} <= ${ns} ns`).toBe(true);
      expect(exactlyAtOrBefore(nextUp(d), ns), `${nextUp(d)} > ${ns} ns`).toBe(false);
    }
  });

  it('a time read back and set again stays; one 100 ns before it is stored before it', () => {
    for (const ns of samples()) {
      const stored = msAtOrBefore(ns);
      const shown = msToNs(stored);
      if (!isStorableNs(shown - 100n)) continue;
      expect(msAtOrBefore(shown), `${shown}`).toBe(stored);
      expect(msAtOrBefore(shown - 100n) < stored, `${shown}`).toBe(true);
    }
  });

  it('nsToMs is within half a step of the exact value; exactNs tells stale companions', () => {
    for (const ns of samples()) {
      const d = nsToMs(ns);
      const below = msAtOrBefore(ns);
      expect(d === below || d === nextUp(below), `${ns}`).toBe(true);
      expect(exactNs(ns, d)).toBe(ns);
      expect(exactNs(ns.toString(), d)).toBe(ns);
      expect(exactNs(ns, nextUp(d))).toBeUndefined();
      expect(exactNs(null, d)).toBeUndefined();
    }
    expect(nsToMs(1_733_000_000_123_456_789n)).toBe(1_733_000_000_123.4568);
    expect(msToNs(1_300_000_000_000.5)).toBe(1_300_000_000_000_500_000n);
    expect(msToNs(-1.5)).toBe(-1_500_000n);
    // 2^-12 ms is 244.140625 ns: rounded up.
    expect(msToNs(1_700_000_000_000 + 2 ** -12)).toBe(1_700_000_000_000_000_245n);
    expect(msToNs(-(2 ** -12))).toBe(-244n);
    expect(isStorableNs(2n ** 63n - 1n) && isStorableNs(-(2n ** 63n))).toBe(true);
    expect(isStorableNs(2n ** 63n) || isStorableNs(-(2n ** 63n) - 1n)).toBe(false);
  });
});
