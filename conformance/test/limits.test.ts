import { isVfsError, limits, scrub, type VfsStorage } from '@eryx/vfs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chaos, expectError, referenceStorage, runConformance } from '../src/index.js';

const bytes = (n: number) => new Uint8Array(n).fill(0x61);
const asyncOnly = (s: VfsStorage): VfsStorage => ({ ...s, sync: undefined });

// Tight limits through the whole kit: the limits sub-suite then fills every limit for real.
runConformance({
  name: 'limits(reference), tight',
  create: () =>
    limits(referenceStorage(), { maxBytes: 200_000, maxFiles: 40, maxFileSize: 50_000, maxPathLength: 120 }),
  skip: [
    'read',
    'writeAt',
    'append',
    'setSize',
    'list',
    'rename',
    'directories',
    'concurrency',
    'probe',
    'model',
  ],
});
runConformance({
  name: 'limits(async-only reference), tight',
  create: () =>
    limits(asyncOnly(referenceStorage()), {
      maxBytes: 10_000,
      maxFiles: 25,
      maxFileSize: 4_000,
      maxPathLength: 64,
    }),
  forms: ['async'],
  skip: [
    'read',
    'writeAt',
    'append',
    'setSize',
    'list',
    'rename',
    'directories',
    'concurrency',
    'probe',
    'model',
  ],
});

describe('limits wrapper', () => {
  it('refuses bad options', async () => {
    for (const bad of [
      { maxBytes: -1 },
      { maxFiles: 1.5 },
      { maxFileSize: Number.NaN },
      { maxPathLength: '9' },
    ]) {
      await expectError(() => limits(referenceStorage(), bad as never), 'invalid-argument');
    }
    await expectError(() => limits(referenceStorage(), null as never), 'invalid-argument');
  });

  it('declares the tighter of its own and the inner limits, through scrub too', () => {
    const inner = limits(referenceStorage(), { maxBytes: 10, maxPathLength: 50 });
    const outer = limits(inner, { maxBytes: 20, maxFiles: 3 });
    expect(outer.limits).toEqual({ maxBytes: 10, maxFiles: 3, maxPathLength: 50 });
    expect(outer.sync?.limits).toEqual(outer.limits);
    expect(scrub(outer, { secrets: ['token'] }).limits).toEqual(outer.limits);
    expect(limits(scrub(inner, { secrets: ['token'] }), {}).limits).toEqual({
      maxBytes: 10,
      maxPathLength: 50,
    });
  });

  it('counts what the store held before it was wrapped, and refuses only growth', async () => {
    const inner = referenceStorage();
    await inner.mkdir('/d');
    await inner.write('/d/a', bytes(80));
    await inner.write('/b', bytes(40));
    // Usage 123: the names d, a and b (a byte each) and 120 bytes of content.
    const s = limits(inner, { maxBytes: 100, maxFiles: 2 });
    await expectError(() => s.append('/b', bytes(1)), 'quota-exceeded');
    await expectError(() => s.write('/c', new Uint8Array(0)), 'quota-exceeded');
    await s.writeAt('/b', 0, bytes(40)); // in place: allowed although over the limit
    await s.rename('/b', '/e'); // a name no longer: allowed although over the limit
    await s.rename('/e', '/b');
    await s.setSize('/d/a', 47);
    await expectError(() => s.append('/b', bytes(11)), 'quota-exceeded');
    await s.append('/b', bytes(10));
    expect((await s.stat('/b')).size).toBe(50);
  });

  it('counts names: mkdir, rmdir and renames, a directory rename by its own name only', async () => {
    const inner = referenceStorage();
    await inner.mkdir('/dir');
    await inner.write('/dir/f', bytes(2));
    // Usage 6: the names dir and f, and 2 bytes of content.
    const s = limits(inner, { maxBytes: 8 });
    const refusal = await s.mkdir('/abc').catch((e: unknown) => e);
    expect(isVfsError(refusal, 'quota-exceeded')).toBe(true);
    expect((refusal as Error).message).toContain(
      'the store would hold 9 bytes (names included), the limit is 8',
    );
    // A call that fails anyway reports the contract's error, not the quota.
    await expectError(() => s.mkdir('/dir'), 'already-exists');
    await expectError(() => s.mkdir('/missing/abc'), 'not-found');
    await expectError(() => s.rename('/dir', '/dir/inside'), 'invalid-path');
    await expectError(() => s.rename('/dir/f', '/missing/abcd'), 'not-found');
    await s.mkdir('/ab');
    await expectError(() => s.write('/x', new Uint8Array(0)), 'quota-exceeded');
    await expectError(() => s.rename('/dir/f', '/dir/ff'), 'quota-exceeded');
    // The directory's own name shrinks by 2 bytes; its entry keeps its name.
    await s.rename('/dir', '/d');
    await s.write('/x', bytes(1));
    await expectError(() => s.mkdir('/y'), 'quota-exceeded');
    await s.rmdir('/ab');
    // Replacing /d/f frees its name and size, and the name x: 3 bytes used.
    await s.rename('/x', '/d/f');
    await s.mkdir('/yyyyy');
    await expectError(() => s.mkdir('/z'), 'quota-exceeded');
    expect((await inner.stat('/d/f')).size).toBe(1);
  });

  it('reports the contract error, not the quota, for a creation that fails anyway', async () => {
    const s = limits(referenceStorage(), { maxFiles: 1, maxPathLength: 10 });
    await s.write('/f', bytes(1));
    await expectError(() => s.write('/missing/g', bytes(1)), 'not-found');
    await expectError(() => s.writeAt('/f/g', 0, bytes(1)), 'not-a-directory');
    await expectError(() => s.append('/', bytes(1)), 'is-a-directory');
    await expectError(() => s.write('/g', bytes(1)), 'quota-exceeded');
    // Path length is checked first, like ENAMETOOLONG.
    await expectError(() => s.write('/missing/long-name', bytes(1)), 'name-too-long');
  });

  it('leaves paths that already exist alone, whatever their length', async () => {
    const inner = referenceStorage();
    await inner.mkdir('/a-long-directory');
    await inner.write('/a-long-directory/file', bytes(3));
    const s = limits(inner, { maxPathLength: 8 });
    await s.write('/a-long-directory/file', bytes(4));
    await s.append('/a-long-directory/file', bytes(1));
    await expectError(() => s.mkdir('/a-long-directory'), 'already-exists');
    await expectError(() => s.write('/a-long-directory/new', bytes(1)), 'name-too-long');
    await s.rename('/a-long-directory/file', '/short');
    expect((await s.stat('/short')).size).toBe(5);
  });

  it('maxNameLength refuses a longer last segment in every creating operation', async () => {
    const s = limits(referenceStorage(), { maxNameLength: 4 });
    expect(s.limits).toEqual({ maxNameLength: 4 });
    await s.write('/abcd', bytes(1));
    await expectError(() => s.write('/abcde', bytes(1)), 'name-too-long');
    await expectError(() => s.writeAt('/abcde', 0, bytes(1)), 'name-too-long');
    await expectError(() => s.append('/abcde', bytes(1)), 'name-too-long');
    await expectError(() => s.create('/abcde'), 'name-too-long');
    await expectError(() => s.mkdir('/abcde'), 'name-too-long');
    await expectError(() => s.rename('/abcd', '/abcde'), 'name-too-long');
    await expectError(() => s.write('/abcd', bytes(2)).then(() => s.mkdir('/é-ab')), 'name-too-long');
    expect((await s.list('/')).map((e) => e.name)).toEqual(['abcd']);
  });

  it('core refuses names over 255 and paths over 4,096 bytes on any storage, whatever the wrapper says', async () => {
    const s = limits(referenceStorage(), { maxNameLength: 1000, maxPathLength: 10_000 });
    await expectError(() => s.write(`/${'n'.repeat(256)}`, bytes(1)), 'name-too-long');
    await s.write(`/${'n'.repeat(255)}`, bytes(1));
    await expectError(() => s.write('/\uD800', bytes(1)), 'invalid-path');
  });

  it('the sync twin and the async form share one tally', async () => {
    const s = limits(referenceStorage(), { maxBytes: 12 });
    await s.write('/a', bytes(6));
    expect(() => s.sync!.write('/b', bytes(5))).toThrow(/quota-exceeded/);
    s.sync!.write('/b', bytes(4));
    await expectError(() => s.append('/a', bytes(1)), 'quota-exceeded');
    s.sync!.delete('/a');
    await s.write('/c', bytes(6));
  });

  it('the sync twins of both wrappers pass flush through', () => {
    const base = referenceStorage();
    const calls: (string | undefined)[] = [];
    const inner = { ...base, sync: { ...base.sync!, flush: (p?: string) => void calls.push(p) } };
    limits(inner, {}).sync!.flush!('/a');
    scrub(inner, { secrets: ['token'] }).sync!.flush!();
    limits(scrub(inner, { secrets: ['token'] }), { maxFiles: 1 }).sync!.flush!('/b');
    expect(calls).toEqual(['/a', undefined, '/b']);
    expect(limits(referenceStorage(), {}).sync!.flush).toBeUndefined();
  });

  it('re-walks the store after an io failure that may have changed it', async () => {
    const inner = asyncOnly(referenceStorage());
    // The inner write takes effect, then fails: the wrapper cannot know what happened.
    const flaky = chaos(inner, { failAfter: { write: 0 }, afterCall: true });
    const s = limits(flaky, { maxBytes: 12 });
    await expectError(() => s.write('/a', bytes(8)), 'io');
    await expectError(() => s.writeAt('/b', 0, bytes(3)), 'quota-exceeded');
    await s.writeAt('/b', 0, bytes(2));
  });

  it('random concurrent writes never take the store past its limits (property)', async () => {
    const op = fc.record({
      kind: fc.constantFrom('write', 'writeAt', 'append', 'setSize', 'delete', 'rename'),
      file: fc.integer({ min: 0, max: 5 }),
      to: fc.integer({ min: 0, max: 5 }),
      n: fc.integer({ min: 0, max: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), fc.boolean(), async (ops, sync) => {
        const base = referenceStorage();
        const s = limits(sync ? base : asyncOnly(base), { maxBytes: 100, maxFiles: 4, maxFileSize: 60 });
        await Promise.allSettled(
          ops.map((o) => {
            const p = `/f${o.file}`;
            switch (o.kind) {
              case 'write':
                return s.write(p, bytes(o.n));
              case 'writeAt':
                return s.writeAt(p, o.n, bytes(3));
              case 'append':
                return s.append(p, bytes(o.n));
              case 'setSize':
                return s.setSize(p, o.n * 2);
              case 'delete':
                return s.delete(p);
              default:
                return s.rename(p, `/f${o.to}`);
            }
          }),
        );
        const entries = await base.list('/');
        const used = entries.reduce((n, e) => n + e.name.length + e.size, 0);
        expect(entries.length).toBeLessThanOrEqual(4);
        expect(used).toBeLessThanOrEqual(100);
        for (const e of entries) expect(e.size).toBeLessThanOrEqual(60);
        // The tally still matches the store: filling it exactly to the limit works, one more byte fails.
        const room = 100 - used;
        const target = entries[0]?.name;
        if (target && entries[0]!.size + room <= 60) {
          await s.setSize(`/${target}`, entries[0]!.size + room);
          const error = await s.append(`/${target}`, bytes(1)).catch((e: unknown) => e);
          expect(isVfsError(error, 'quota-exceeded')).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
