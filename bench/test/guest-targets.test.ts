import { describe, expect, it } from 'vitest';
import { GUEST_TARGET_RATIOS, guestBindings, selectGuestTargets } from '../src/guest.js';

describe('the guest targets BENCH_BACKENDS selects', () => {
  it('are every target but the baseline compared with itself, when none is named', () => {
    const all = selectGuestTargets(undefined);
    expect(all).toEqual(
      expect.arrayContaining([
        'memory',
        'sqlite',
        'sqlite-full',
        'postgres',
        's3',
        'p2shim-memory',
        'p2shim-disk',
      ]),
    );
    expect(all).not.toContain('p2shim-memory-again');
  });

  it('bring the baseline a named target is compared with', () => {
    expect(selectGuestTargets(['memory'])).toEqual(['memory', 'p2shim-memory']);
    expect(selectGuestTargets(['sqlite'])).toEqual(['sqlite', 'sqlite-full', 'p2shim-disk']);
  });

  it('compare the in-memory baseline with itself when asked, for information', () => {
    expect(selectGuestTargets(['p2shim-memory-again'])).toEqual(['p2shim-memory', 'p2shim-memory-again']);
    expect(GUEST_TARGET_RATIOS).toContainEqual({ target: 'p2shim-memory-again', baseline: 'p2shim-memory' });
  });
});

describe('BENCH_GUEST_BINDINGS', () => {
  it('is hybrid unless it says js, and nothing else', () => {
    expect(guestBindings(undefined)).toBe('hybrid');
    expect(guestBindings('')).toBe('hybrid');
    expect(guestBindings('hybrid')).toBe('hybrid');
    expect(guestBindings('js')).toBe('js');
    expect(() => guestBindings('optimized')).toThrow(/hybrid or js/);
  });
});
