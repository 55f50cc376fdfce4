import { nsToMs } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { type EntryMeta, inodePath, Layout } from '../src/layout.js';
import { KEY_OVERHEAD } from '../src/s3-driver.js';

const layout = new Layout('p');
const meta = (key: string) => layout.parseKey(key)?.key.meta;
const roundTrip = (m: EntryMeta) => meta(layout.dataKey('/d/f', 7, m));

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;
/** Nanosecond times: today's with every digit set, whole milliseconds, around 0, and int64's ends. */
const TIMES = [
  1_733_000_000_123_456_789n,
  1_733_000_000_123_456_689n,
  1_733_000_000_123_000_000n,
  0n,
  1n,
  -1n,
  -999_999n,
  -1_733_000_000_123_456_789n,
  MIN,
  MIN + 1n,
  MAX,
  MAX - 1n,
];

/** The meta decoder of the releases before nanosecond times, verbatim (only renamed). */
function releasedDecodeMeta(s: string) {
  const decodeTime = (t: string) => (t.startsWith('*') ? Number(t.slice(1)) : parseInt(t, 36));
  const [head, created, modified, accessed] = s.split('~');
  if (!head || created === undefined || modified === undefined || accessed === undefined) return undefined;
  return {
    kind: head[0],
    size: parseInt(head.slice(1), 36),
    created: decodeTime(created),
    modified: decodeTime(modified),
    accessed: decodeTime(accessed),
  };
}

describe('entry keys: times', () => {
  it('keys written before nanosecond times parse as before, with no exact times', () => {
    // Keys as the released layout writes them: base-36 integers, `*` plus a double otherwise.
    const t = (ms: number) => ms.toString(36);
    expect(
      meta(`p/e/d/f!7!i5~${t(1_700_000_000_000)}~${t(1_700_000_000_003)}~${t(1_700_000_000_003)}`),
    ).toEqual({
      kind: 'i',
      size: 5,
      created: 1_700_000_000_000,
      modified: 1_700_000_000_003,
      accessed: 1_700_000_000_003,
    });
    expect(meta('p/root!2!d0~*1733000000123.4568~*-1.5~*1e-7')).toEqual({
      kind: 'd',
      size: 0,
      created: 1_733_000_000_123.4568,
      modified: -1.5,
      accessed: 1e-7,
    });
    expect(meta('p/e/a!1!c-1~-1~0~*1e300')).toEqual({
      kind: 'c',
      size: -1,
      created: -1,
      modified: 0,
      accessed: 1e300,
    });
    // What this code writes for millisecond times is what the released code wrote.
    const ms: EntryMeta = { kind: 'l', size: 3, created: 1, modified: 2.5, accessed: -3 };
    expect(layout.dataKey('/x', 1, ms)).toBe('p/e/x!1!l3~1~*2.5~-3');
    expect(roundTrip(ms)).toEqual(ms);
  });

  it('times set in nanoseconds round-trip exactly, each alone or both', () => {
    for (const ns of TIMES) {
      for (const other of [undefined, ns, ns < MIN + 100n ? MAX : ns - 100n]) {
        const m: EntryMeta = {
          kind: 'i',
          size: 1,
          created: 5,
          modified: nsToMs(ns),
          accessed: 9,
          modifiedNs: ns,
        };
        if (other !== undefined) Object.assign(m, { accessed: nsToMs(other), accessedNs: other });
        expect(roundTrip(m), `${ns} ${other}`).toEqual(m);
        const { modifiedNs: _, ...accessedOnly } = m;
        expect(roundTrip(accessedOnly), `${ns} ${other}`).toEqual(accessedOnly);
      }
    }
  });

  it('a time 100 ns earlier is another key even where the milliseconds are the same', () => {
    const ns = 1_733_000_000_123_456_789n;
    expect(nsToMs(ns - 100n)).toBe(nsToMs(ns));
    const key = (n: bigint) =>
      layout.dataKey('/f', 2, {
        kind: 'i',
        size: 0,
        created: 0,
        modified: nsToMs(n),
        accessed: 0,
        modifiedNs: n,
      });
    expect(key(ns - 100n)).not.toBe(key(ns));
    expect(meta(key(ns - 100n))?.modifiedNs).toBe(ns - 100n);
  });

  it('the released decoder reads a key with exact times as its milliseconds', () => {
    const m: EntryMeta = {
      kind: 'c',
      size: 2048,
      created: 1_700_000_000_000,
      modified: nsToMs(MAX),
      accessed: nsToMs(MIN),
      modifiedNs: MAX,
      accessedNs: MIN,
    };
    const key = layout.dataKey('/f', 3, m);
    const { modifiedNs: _m, accessedNs: _a, ...ms } = m;
    expect(releasedDecodeMeta(key.split('!')[2]!)).toEqual(ms);
  });

  it('drops an exact time that no longer matches its milliseconds, or is outside int64', () => {
    const ns = 1_733_000_000_123_456_789n;
    // A meta whose milliseconds moved away from its exact time: written and read without it.
    const stale: EntryMeta = { kind: 'i', size: 0, created: 0, modified: nsToMs(ns) + 1, accessed: 0 };
    expect(layout.dataKey('/f', 1, { ...stale, modifiedNs: ns })).toBe(layout.dataKey('/f', 1, stale));
    expect(meta('p/e/f!1!i0~0~*1e300~0~0')).toEqual({
      kind: 'i',
      size: 0,
      created: 0,
      modified: 1e300,
      accessed: 0,
    });
    expect(meta('p/e/f!1!i0~0~0~0~x~0x1')).toEqual({
      kind: 'i',
      size: 0,
      created: 0,
      modified: 0,
      accessed: 0,
    });
    // Fields after the two exact times are ignored, as the released decoder ignores those.
    expect(meta('p/e/f!1!i0~0~0~0~0~~later')).toEqual({
      kind: 'i',
      size: 0,
      created: 0,
      modified: 0,
      accessed: 0,
      modifiedNs: 0n,
    });
  });

  it('the longest key suffix, with exact times or without, fits the key overhead the store reserves', () => {
    // Bounds: a size up to 2^53, `created` a Date.now() (9 base-36 digits until the year 5188), a
    // generation of at most 5 base-36 digits (60 million updates of one name), int64 times with
    // their distance, or the longest double a number time can be.
    const base = { kind: 'c', size: Number.MAX_SAFE_INTEGER, created: 36 ** 9 - 1 } as const;
    const near = (end: bigint, step: bigint) =>
      Array.from({ length: 200 }, (_, i) => end + step * BigInt(Math.floor(Math.random() * 1e9) + i));
    const worst: EntryMeta[] = [...near(MIN, 1n), ...near(MAX, -1n), -1_234_567_890_123_456_789n, 1n].map(
      (ns) => ({ ...base, modified: nsToMs(ns), accessed: nsToMs(ns), modifiedNs: ns, accessedNs: ns }),
    );
    const longestDouble = -1.2345678901234568e-300;
    worst.push({ ...base, modified: longestDouble, accessed: longestDouble });
    // Besides `!<gen>!<meta>`: the `e` of `e/` (the path brings the `/`) and a `+/` per long name's
    // 158-byte-or-more piece within the longest path the store accepts.
    const joins = 2 * Math.floor((1024 - KEY_OVERHEAD) / 158);
    for (const m of worst) {
      const suffix = layout.dataKey('/f', 36 ** 5 - 1, m).slice('p/e/f'.length);
      expect(1 + joins + suffix.length, suffix).toBeLessThanOrEqual(KEY_OVERHEAD);
    }
  });

  it('hard links: an h name carries its inode id in place of the size; an inode its count', () => {
    const name: EntryMeta = {
      kind: 'h',
      inode: '0123456789abcdef01234567',
      size: 0,
      created: 5,
      modified: 6,
      accessed: 7,
    };
    const key = layout.dataKey('/d/f', 3, name);
    expect(key).toBe('p/e/d/f!3!h0123456789abcdef01234567~5~6~7');
    expect(meta(key)).toEqual(name);
    const inode: EntryMeta = { kind: 'c', size: 4096, created: 1, modified: 2, accessed: 3, links: 12 };
    const inodeKey = layout.dataKey(inodePath('00ff'), 4, inode);
    expect(inodeKey).toBe('p/n/00ff!4!c35s~1~2~3~~~12');
    expect(layout.parseKey(inodeKey)).toEqual({
      parentPrefix: 'p/n/',
      namePrefix: 'p/n/00ff',
      name: '00ff',
      key: { key: inodeKey, gen: 4, meta: inode },
    });
    expect(layout.claimKey(inodePath('00ff'), 5)).toBe('p/n/00ff!5');
    // With exact times, the count stays the seventh field.
    const exact = { ...inode, modified: nsToMs(MAX), modifiedNs: MAX };
    expect(meta(layout.dataKey(inodePath('00ff'), 4, exact))).toEqual(exact);
    // Not ours: a name of kind h without a hex id, an inode key without one.
    expect(meta('p/e/f!1!hxyz~0~0~0')).toBeUndefined();
    expect(layout.parseKey('p/n/zz!1!i0~0~0~0')).toBeUndefined();
    // The released decoders know no kind h: they skip such names (hence the README's warning).
    expect(['i', 'c', 'd', 'l', 't']).not.toContain(releasedDecodeMeta(key.split('!')[2]!)!.kind);
  });

  it('an h name fits the key overhead: its meta is shorter than the longest file meta', () => {
    const created = 36 ** 9 - 1;
    const h = layout.dataKey('/f', 36 ** 5 - 1, {
      kind: 'h',
      inode: 'f'.repeat(24),
      size: 0,
      created,
      modified: created,
      accessed: created,
    });
    expect(
      1 + 2 * Math.floor((1024 - KEY_OVERHEAD) / 158) + h.slice('p/e/f'.length).length,
    ).toBeLessThanOrEqual(KEY_OVERHEAD);
  });
});
