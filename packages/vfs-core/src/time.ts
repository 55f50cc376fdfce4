import type { Metadata, SetTimes } from './types.js';

/* Times in nanoseconds: a double of milliseconds since 1970 resolves about 244 ns today, so a time
 * set in nanoseconds travels as a bigint next to its double (see Capabilities.nanosecondTimes). */

const NS_PER_MS = 1_000_000n;
/** The range of a signed 64-bit count of nanoseconds (years 1677 to 2262), what backends store. */
const MIN_NS = -(2n ** 63n);
const MAX_NS = 2n ** 63n - 1n;

/**
 * `ns` nanoseconds since the epoch as milliseconds: the nearest double (one rounding: the whole
 * milliseconds are exact, only their sum with the fraction is rounded). Backends store this double
 * as the time's milliseconds next to the exact `ns`.
 */
export function nsToMs(ns: bigint): number {
  const whole = ns / NS_PER_MS;
  const rest = ns % NS_PER_MS;
  return Number(whole) + Number(rest) / 1e6;
}

const view = new DataView(new ArrayBuffer(8));

/** A finite double as `mantissa * 2 ** exponent`, exactly. */
function decompose(d: number): [mantissa: bigint, exponent: number] {
  view.setFloat64(0, d);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  return [bits >> 63n === 1n ? -mantissa : mantissa, (biased === 0 ? 1 : biased) - 1075];
}

/** `d * 1e6` compared with `ns`, exactly (-1, 0, 1). */
function compareMsNs(d: number, ns: bigint): number {
  const [mantissa, exponent] = decompose(d);
  const left = mantissa * NS_PER_MS;
  const [a, b] = exponent >= 0 ? [left << BigInt(exponent), ns] : [left, ns << BigInt(-exponent)];
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The double just below `d` (finite, not -Infinity's neighbour: times are far from it). */
function nextDown(d: number): number {
  if (d === 0) return -Number.MIN_VALUE;
  view.setFloat64(0, d);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, d > 0 ? bits - 1n : bits + 1n);
  return view.getFloat64(0);
}

/**
 * The latest double of milliseconds at or before `ns` nanoseconds: what a store without
 * `nanosecondTimes` is given for a time set in nanoseconds. Rounding down, never to the nearest,
 * means a time set 100 ns before the one `stat` shows is stored before it, never as the same double.
 */
export function msAtOrBefore(ns: bigint): number {
  const d = nsToMs(ns);
  return compareMsNs(d, ns) > 0 ? nextDown(d) : d;
}

/**
 * `ms` milliseconds since the epoch in nanoseconds, rounded up: the first nanosecond at or after
 * it. So a time read back from milliseconds and set again in nanoseconds (a guest's stat, then
 * set-times) is stored as the same double by {@link msAtOrBefore}, never one step earlier.
 */
export function msToNs(ms: number): bigint {
  const [mantissa, exponent] = decompose(ms);
  const scaled = mantissa * NS_PER_MS;
  if (exponent >= 0) return scaled << BigInt(exponent);
  return -(-scaled >> BigInt(-exponent));
}

/** Whether `ns` is a time backends can store: a signed 64-bit count of nanoseconds. */
export function isStorableNs(ns: bigint): boolean {
  return ns >= MIN_NS && ns <= MAX_NS;
}

/**
 * The time `which` of `meta` in nanoseconds since the epoch: exact where the backend gave it
 * (`modifiedNs`, `accessedNs`), else converted from the milliseconds.
 */
export function timeNs(meta: Metadata, which: 'created' | 'modified' | 'accessed'): bigint {
  const exact = which === 'modified' ? meta.modifiedNs : which === 'accessed' ? meta.accessedNs : undefined;
  return exact ?? msToNs(meta[which]);
}

/**
 * For backends: the exact nanoseconds stored next to a time's milliseconds, if they still describe
 * it. A backend writes both when `setTimes` gets a bigint, and only the milliseconds on every other
 * change (a write, a `number` time): the stored nanoseconds are then stale, which this tells by
 * `nsToMs(ns) !== ms`, so no other statement has to clear them.
 */
export function exactNs(ns: bigint | number | string | null | undefined, ms: number): bigint | undefined {
  if (ns === null || ns === undefined) return undefined;
  const value = typeof ns === 'bigint' ? ns : BigInt(ns);
  return nsToMs(value) === ms ? value : undefined;
}

/**
 * For backends: a {@link SetTimes} member as stored, `[milliseconds, exact nanoseconds]`: a bigint
 * gives both, a number its milliseconds and no nanoseconds, nothing gives nothing (`null`, as SQL
 * parameters take it).
 */
export function storedTime(time: number | bigint | undefined): [ms: number | null, ns: bigint | null] {
  return typeof time === 'bigint' ? [nsToMs(time), time] : [time ?? null, null];
}
