import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostDirectory, restrictedFiles, timeNs, type VfsSyncStorage } from '../src/index.js';

const temp = mkdtempSync(join(tmpdir(), 'eryx-host-times-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let n = 0;

/** 2024-11-30T20:53:20.123456789Z, every nanosecond digit set. */
const N = 1_733_000_000_123_456_789n;

function stores(): Array<[string, VfsSyncStorage, string, string]> {
  const dir = mkdtempSync(join(temp, `${n++}-`));
  writeFileSync(join(dir, 'f'), 'x');
  return [
    ['hostDirectory', hostDirectory(dir), '/f', join(dir, 'f')],
    ['restrictedFiles', restrictedFiles({ f: join(dir, 'f') }), '/f', join(dir, 'f')],
  ];
}

/** What the host file system holds, in nanoseconds. */
const hostNs = (host: string) => statSync(host, { bigint: true });

describe('host times (microseconds, what Node can set)', () => {
  it('declare no nanosecondTimes: a time set in nanoseconds is stored to the microsecond at or before it', () => {
    for (const [name, s, path, host] of stores()) {
      expect(s.capabilities.nanosecondTimes, name).toBe(false);
      s.setTimes(path, { modified: N, accessed: N + 1_000n });
      expect(hostNs(host).mtimeNs, name).toBe(1_733_000_000_123_456_000n);
      expect(hostNs(host).atimeNs, name).toBe(1_733_000_000_123_457_000n);
      const meta = s.stat(path);
      expect(meta.modifiedNs, name).toBeUndefined();
      expect(meta.modified, name).toBe(statSync(host).mtimeMs);
    }
  });

  it('a time read back and set again stays; one 100 ns before it is stored before it', () => {
    for (const [name, s, path, host] of stores()) {
      // Times before 1970 too, which Node would make the current time if given as a number.
      for (const t of [N, N + 999n, 1n, 0n, -1n, -123_456_789_987n]) {
        s.setTimes(path, { modified: t });
        const shown = timeNs(s.stat(path), 'modified');
        const stored = hostNs(host).mtimeNs;
        expect(stored <= t && stored > t - 1_000n, `${name}: ${t} stored as ${stored}`).toBe(true);
        s.setTimes(path, { modified: shown });
        expect(hostNs(host).mtimeNs, `${name}: ${t} set again`).toBe(stored);
        s.setTimes(path, { modified: shown - 100n });
        expect(hostNs(host).mtimeNs, `${name}: ${t} - 100 ns`).toBe(stored - 1_000n);
        expect(timeNs(s.stat(path), 'modified') < shown, name).toBe(true);
      }
    }
  });

  it('a time in milliseconds keeps its microseconds, and the other time stays as it was', () => {
    for (const [name, s, path, host] of stores()) {
      s.setTimes(path, { accessed: 1_300_000_000_000.5, modified: -1_500.25 });
      expect(hostNs(host).atimeNs, name).toBe(1_300_000_000_000_500_000n);
      expect(hostNs(host).mtimeNs, name).toBe(-1_500_250_000n);
      s.setTimes(path, { modified: 1_000 });
      expect(hostNs(host).atimeNs, name).toBe(1_300_000_000_000_500_000n);
      expect(s.stat(path)).toMatchObject({ accessed: 1_300_000_000_000.5, modified: 1_000 });
      // Appending nothing marks the file modified and keeps its access time, even before 1970.
      s.setTimes(path, { accessed: -1_500.25 });
      s.append(path, new Uint8Array(0));
      expect(hostNs(host).atimeNs, name).toBe(-1_500_250_000n);
      expect(s.stat(path).modified, name).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it('a time far beyond what the host holds returns at once, set as the host clamps it or refused', () => {
    for (const [name, s, path] of stores()) {
      for (const t of [1e20, -1e20, Number.MAX_VALUE]) {
        const start = performance.now();
        try {
          s.setTimes(path, { modified: t });
        } catch (error) {
          expect((error as { code?: string }).code, `${name}: ${t}`).toBe('io');
        }
        expect(performance.now() - start, `${name}: ${t}`).toBeLessThan(1_000);
      }
    }
  });
});
