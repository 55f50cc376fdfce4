import { runInNewContext } from 'node:vm';
import {
  compileSecrets,
  isVfsError,
  type ScrubPolicy,
  scrub,
  type VfsStorage,
  type VfsSyncStorage,
} from '@eryx/vfs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chaos, expectError, referenceStorage } from '../src/index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function occurs(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1;
}

describe('scrub: configuration', () => {
  const bad = (secrets: (string | Uint8Array)[], extra: { replacement?: string; fill?: string } = {}) =>
    expectError(() => scrub(referenceStorage(), { secrets, ...extra }), 'invalid-argument');

  it('refuses empty, NUL-containing and missing secrets', async () => {
    await bad([]);
    await bad(['']);
    await bad([new Uint8Array(0)]);
    await bad(['ok-secret', 'has\0nul']);
    await bad([Uint8Array.of(1, 0, 2)]);
    await expectError(
      () => scrub(referenceStorage(), { secrets: 'x' as unknown as string[] }),
      'invalid-argument',
    );
  });

  it('refuses overlapping placeholder sets', async () => {
    await bad(['API_KEY', 'MY_API_KEY_2']); // one contains the other
    await bad(['{{TOKEN}}', 'TOKEN']);
    await bad(['abcXY', 'XYdef']); // a suffix of one is a prefix of the other
    await bad(['%A%', '%B%']); // "%A%B%" holds overlapping matches
  });

  it('accepts a secret given as a Uint8Array of another realm', () => {
    // A vm context's Uint8Array fails instanceof in this realm, yet is a Uint8Array all the same.
    const foreign = runInNewContext('new Uint8Array([0x53, 0x45, 0x43, 0x52, 0x45, 0x54])') as Uint8Array;
    expect(foreign instanceof Uint8Array).toBe(false);
    const set = compileSecrets([foreign], '[REDACTED]', '*');
    expect([...set.secrets[0]!]).toEqual([...enc('SECRET')]);
  });

  it('accepts a secret that overlaps itself, and duplicates', () => {
    const set = compileSecrets(['%API_KEY%', '%API_KEY%', enc('%API_KEY%')], '[REDACTED]', '*');
    expect(set.secrets.length).toBe(1);
  });

  it('refuses replacements and fills that could form or hide a secret', async () => {
    await bad(['RED'], {}); // part of "[REDACTED]"
    await bad(['top-secret'], { replacement: 'xx top-secret xx' });
    await bad(['*token'], {}); // starts with the fill
    await bad(['token*'], {});
    await bad(['D]token'], {}); // starts with an end of the replacement
    await bad(['token[RE'], {}); // ends with a start of the replacement
    await bad(['pa***word', 'abc'], {}); // a run of fills as long as the shortest secret
    compileSecrets(['pa**word', 'abc'], '[REDACTED]', '*'); // shorter runs cannot be a mask
    await bad(['token'], { replacement: '' });
    await bad(['token'], { replacement: 'a\0b' });
    await bad(['token'], { fill: '' });
    await bad(['token'], { fill: '**' });
    await bad(['token'], { fill: '\0' });
    await bad(['token'], { fill: ' ' });
    await expectError(
      () => scrub(referenceStorage(), { secrets: ['token'], policy: 'some' as unknown as ScrubPolicy }),
      'invalid-argument',
    );
    await expectError(
      () => scrub(referenceStorage(), { secrets: ['token'], policy: { only: ['[z-a]'] } }),
      'invalid-argument',
    );
  });
});

describe('scrub: what is stored', () => {
  const SECRETS = ['{{DB_PASSWORD}}', 'sk-PLACEHOLDER', 'hunter2'];
  const setup = (policy?: ScrubPolicy) => {
    const inner = referenceStorage();
    return { inner, s: scrub(inner, { secrets: SECRETS, policy }) };
  };

  it('masks whole writes with same-length masks', async () => {
    const { inner, s } = setup();
    await s.write('/f', enc('user=hunter2 pw={{DB_PASSWORD}} key=sk-PLACEHOLDER!'));
    const stored = dec(await inner.read('/f'));
    expect(stored).toBe('user=******* pw=[REDACTED]***** key=[REDACTED]****!');
    expect(dec(await s.read('/f'))).toBe(stored);
    expect((await s.stat('/f')).size).toBe(stored.length);
  });

  it('masks a placeholder split across writeAt calls, in any order', async () => {
    const { inner, s } = setup();
    await s.writeAt('/f', 11, enc('WORD}} tail'));
    await s.writeAt('/f', 0, enc('x={{DB_PA'));
    expect(dec(await inner.read('/f'))).toBe('x={{DB_PA\0\0WORD}} tail');
    await s.writeAt('/f', 7, enc('PASS'));
    expect(dec(await inner.read('/f'))).toBe('x=[REDACTED]***** tail');
  });

  it('masks a placeholder completed in the middle by a one-byte write', async () => {
    const { inner, s } = setup();
    await s.write('/f', enc('-- sk-PLACE_OLDER --'));
    await s.writeAt('/f', 11, enc('H'));
    expect(dec(await inner.read('/f'))).toBe('-- [REDACTED]**** --');
  });

  it('masks a placeholder split across appends and keeps append offsets', async () => {
    const { inner, s } = setup();
    const pieces = ['log: {', '{DB_', 'PASS', 'WORD', '}', '} ok h', 'unt', 'er2\n'];
    let offset = 0;
    for (const piece of pieces) {
      expect(await s.append('/log', enc(piece))).toBe(offset);
      offset += piece.length;
    }
    expect(dec(await inner.read('/log'))).toBe('log: [REDACTED]***** ok *******\n');
  });

  it('never lets a secret reach storage, not even for a moment', async () => {
    const inner = referenceStorage();
    const seen: string[] = [];
    const spy: VfsStorage = {
      ...inner,
      sync: undefined,
      writeAt: async (p, o, d) => {
        seen.push(dec(d));
        return inner.writeAt(p, o, d);
      },
      append: async (p, d) => {
        seen.push(dec(d));
        return inner.append(p, d);
      },
    };
    const s = scrub(spy, { secrets: SECRETS });
    await s.writeAt('/f', 0, enc('aaaa {{DB_PASS'));
    await s.writeAt('/f', 14, enc('WORD}} bbbb'));
    await s.append('/f', enc(' sk-PLACE'));
    await s.append('/f', enc('HOLDER'));
    for (const chunk of seen) for (const secret of SECRETS) expect(chunk).not.toContain(secret);
    expect(dec(await inner.read('/f'))).toBe('aaaa [REDACTED]***** bbbb [REDACTED]****');
  });

  it('applies the policy: only and except globs', async () => {
    const only = setup({ only: ['**/*.{log,env}'] });
    await only.s.mkdir('/app');
    await only.s.write('/app/.env', enc('hunter2'));
    await only.s.write('/app/notes.txt', enc('hunter2'));
    expect(dec(await only.inner.read('/app/.env'))).toBe('*******');
    expect(dec(await only.inner.read('/app/notes.txt'))).toBe('hunter2');
    const except = setup({ except: ['raw/**'] });
    await except.s.mkdir('/raw');
    await except.s.write('/raw/x', enc('hunter2'));
    await except.s.write('/x', enc('hunter2'));
    expect(dec(await except.inner.read('/raw/x'))).toBe('hunter2');
    expect(dec(await except.inner.read('/x'))).toBe('*******');
    const none = setup('none');
    await none.s.write('/x', enc('hunter2'));
    expect(dec(await none.inner.read('/x'))).toBe('hunter2');
  });

  it('scrubs a file renamed from an unscrubbed path to a scrubbed one, trees included', async () => {
    const { inner, s } = setup({ only: ['**/*.log'] });
    await s.write('/a.tmp', enc('x hunter2 y'));
    await s.rename('/a.tmp', '/a.log');
    expect(dec(await inner.read('/a.log'))).toBe('x ******* y');
    await s.mkdir('/d');
    await s.mkdir('/d/e');
    const big = new Uint8Array((1 << 20) + 10).fill(0x2e);
    big.set(enc('{{DB_PASSWORD}}'), (1 << 20) - 5); // across the 1 MiB read window
    await s.write('/d/e/b.log.tmp', big);
    await s.write('/d/e/c.tmp', enc('hunter2'));
    await s.rename('/d', '/f');
    expect(dec(await inner.read('/f/e/c.tmp'))).toBe('hunter2');
    await s.rename('/f/e/b.log.tmp', '/f/e/b.log');
    const stored = await inner.read('/f/e/b.log');
    expect(stored.length).toBe(big.length);
    expect(occurs(stored, enc('{{DB_PASSWORD}}'))).toBe(false);
    expect(dec(stored.subarray((1 << 20) - 5, (1 << 20) + 10))).toBe('[REDACTED]*****');
  });

  it('a refused rename leaves the unscrubbed source untouched', async () => {
    const { inner, s } = setup({ only: ['*.log'] });
    await s.write('/a.tmp', enc('hunter2'));
    await s.mkdir('/a.log');
    await expectError(() => s.rename('/a.tmp', '/a.log'), 'is-a-directory');
    await expectError(() => s.rename('/a.tmp', '/missing/a.log'), 'not-found');
    expect(dec(await inner.read('/a.tmp'))).toBe('hunter2');
  });

  it('with globs, stores no hard links, and a linked file may not move into a scrubbed path', async () => {
    const { inner, s } = setup({ only: ['*.log'] });
    expect(s.capabilities.hardLinks).toBe(false);
    expect(setup('all').s.capabilities.hardLinks).toBe(true);
    await s.write('/a.tmp', enc('hunter2'));
    await expectError(() => s.link('/a.tmp', '/a.log'), 'unsupported');
    await expectError(() => s.link('/a.tmp', '/b.tmp'), 'unsupported');
    expect(await inner.exists('/a.log')).toBe(false);
    // A second name made beside the wrapper: the file may not then move into the policy.
    await inner.link('/a.tmp', '/c.tmp');
    await expectError(() => s.rename('/c.tmp', '/d.log'), 'cross-device');
    expect(dec(await inner.read('/c.tmp'))).toBe('hunter2');
    await s.delete('/a.tmp');
    await s.rename('/c.tmp', '/d.log');
    expect(dec(await inner.read('/d.log'))).toBe('*******');
  });

  it('with globs, a linked file may not cross the policy inside a moved directory, nor move out', async () => {
    const { inner, s } = setup({ only: ['secret/**'] });
    await s.mkdir('/pub');
    await s.mkdir('/pub/d');
    await s.mkdir('/secret');
    await s.write('/pub/d/f', enc('plain'));
    await inner.link('/pub/d/f', '/pub/g');
    // In a moved directory: refused, nothing moved.
    await expectError(() => s.rename('/pub/d', '/secret/d'), 'cross-device');
    expect(await inner.exists('/pub/d/f')).toBe(true);
    expect(await inner.exists('/secret/d')).toBe(false);
    // Out of the scrubbed paths: a write through the outside name would land in the inside one.
    await s.write('/secret/a', enc('x'));
    await inner.link('/secret/a', '/secret/b');
    await expectError(() => s.rename('/secret/b', '/pub/b'), 'cross-device');
    expect(await inner.exists('/secret/b')).toBe(true);
    // Within one side, renames of linked files work.
    await s.rename('/secret/b', '/secret/c');
    await s.rename('/pub/d', '/pub/e');
    expect(dec(await inner.read('/pub/e/f'))).toBe('plain');
  });

  it('keeps errors and their precedence, and failed inner writes store nothing', async () => {
    const { s } = setup();
    await expectError(() => s.writeAt('/missing/f', 0, enc('hunter2')), 'not-found');
    await expectError(() => s.append('/', enc('hunter2')), 'is-a-directory');
    await s.write('/file', enc('x'));
    await expectError(() => s.append('/file/y', enc('hunter2')), 'not-a-directory');
    const inner = referenceStorage();
    const flaky = scrub(chaos({ ...inner, sync: undefined }, { failAfter: { writeAt: 0 } }), {
      secrets: SECRETS,
    });
    await inner.write('/f', enc('abc {{DB_'));
    await expectError(() => flaky.writeAt('/f', 9, enc('PASSWORD}}')), 'io');
    expect(dec(await inner.read('/f'))).toBe('abc {{DB_');
  });

  it('declares nativeAppend and multiProcess as false, and passes declared limits through', () => {
    const s = scrub(referenceStorage(), { secrets: SECRETS });
    expect(s.capabilities.nativeAppend).toBe(false);
    expect(s.capabilities.multiProcess).toBe(false);
    const limited = { ...referenceStorage(), limits: { maxFiles: 3 } };
    expect(scrub(limited, { secrets: SECRETS }).limits).toEqual({ maxFiles: 3 });
  });

  it('binary secrets are matched as bytes', async () => {
    const inner = referenceStorage();
    const s = scrub(inner, { secrets: [Uint8Array.of(0xff, 0xfe, 0x01)] });
    await s.write('/b', Uint8Array.of(0, 0xff, 0xfe));
    await s.append('/b', Uint8Array.of(0x01, 0));
    expect([...(await inner.read('/b'))]).toEqual([0, 0x2a, 0x2a, 0x2a, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random secrets, random data full of their fragments, random write patterns.

type Op =
  | { kind: 'write' | 'append'; file: number; data: string }
  | { kind: 'writeAt'; file: number; offset: number; data: string }
  | { kind: 'setSize'; file: number; size: number }
  | { kind: 'rename'; file: number; to: number }
  | { kind: 'delete'; file: number };

interface Config {
  secrets: string[];
  replacement: string;
  fill: string;
}

const valid = (c: Config) => {
  try {
    compileSecrets(c.secrets, c.replacement, c.fill);
    return true;
  } catch {
    return false;
  }
};

const configArb: fc.Arbitrary<Config> = fc
  .record({
    secrets: fc.uniqueArray(
      fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é'), minLength: 1, maxLength: 6 }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    replacement: fc.constantFrom('[REDACTED]', 'R', '<x>', 'ab'),
    fill: fc.constantFrom('*', '#', 'c'),
  })
  .filter(valid);

function opsArb(config: Config, files: number): fc.Arbitrary<Op[]> {
  const fragments = config.secrets.flatMap((s) => {
    const chars = Array.from(s);
    return chars.flatMap((_, i) => [chars.slice(0, i + 1).join(''), chars.slice(i).join('')]);
  });
  const text = fc
    .array(
      fc.oneof(
        fc.constantFrom('a', 'b', 'c', 'x', '\0', 'é'),
        fc.constantFrom(...fragments),
        fc.constantFrom(...config.secrets),
      ),
      {
        maxLength: 8,
      },
    )
    .map((parts) => parts.join(''));
  const file = fc.integer({ min: 0, max: files - 1 });
  return fc.array(
    fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('write' as const), file, data: text }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), file, data: text }) },
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('writeAt' as const),
          file,
          offset: fc.integer({ min: 0, max: 40 }),
          data: text,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('setSize' as const),
          file,
          size: fc.integer({ min: 0, max: 45 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('rename' as const), file, to: file }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), file }) },
    ),
    { minLength: 1, maxLength: 40 },
  );
}

interface ModelFile {
  /** What the caller wrote, unscrubbed. */
  logical: Uint8Array;
  /** Whether the file has only ever been at unscrubbed paths (so it must be stored verbatim). */
  verbatim: boolean;
}

function resized(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(data.subarray(0, Math.min(size, data.length)));
  return out;
}

/**
 * Runs `ops` through `wrapped` (either form) and checks, after every step, the bytes stored in
 * `inner`: no secret at a scrubbed path, sizes and append offsets equal to what the caller wrote,
 * NULs exactly where the caller wrote them, every changed byte a mask byte, unscrubbed files verbatim.
 */
async function check(
  config: Config,
  paths: string[],
  scrubbed: (path: string) => boolean,
  ops: Op[],
  inner: VfsStorage,
  wrapped: VfsStorage | VfsSyncStorage,
) {
  const secrets = config.secrets.map(enc);
  const maskBytes = new Set([...enc(config.replacement), config.fill.charCodeAt(0)]);
  const model = new Map<string, ModelFile>();
  for (const [step, op] of ops.entries()) {
    const path = paths[op.file]!;
    const before = model.get(path);
    const where = `step ${step}: ${JSON.stringify(op)}`;
    const fileFor = () => before ?? { logical: new Uint8Array(0), verbatim: !scrubbed(path) };
    try {
      switch (op.kind) {
        case 'write': {
          await wrapped.write(path, enc(op.data));
          model.set(path, { logical: enc(op.data), verbatim: fileFor().verbatim });
          break;
        }
        case 'append': {
          const f = fileFor();
          const at = await wrapped.append(path, enc(op.data));
          expect(at, where).toBe(f.logical.length);
          const data = enc(op.data);
          const logical = resized(f.logical, f.logical.length + data.length);
          logical.set(data, f.logical.length);
          model.set(path, { ...f, logical });
          break;
        }
        case 'writeAt': {
          const f = fileFor();
          const data = enc(op.data);
          await wrapped.writeAt(path, op.offset, data);
          const logical = resized(f.logical, Math.max(f.logical.length, op.offset + data.length));
          logical.set(data, op.offset);
          model.set(path, { ...f, logical });
          break;
        }
        case 'setSize': {
          await wrapped.setSize(path, op.size);
          expect(before, where).toBeDefined();
          model.set(path, { ...before!, logical: resized(before!.logical, op.size) });
          break;
        }
        case 'rename': {
          const to = paths[op.to]!;
          await wrapped.rename(path, to);
          expect(before, where).toBeDefined();
          model.delete(path);
          model.set(to, { ...before!, verbatim: before!.verbatim && !scrubbed(to) });
          break;
        }
        case 'delete': {
          await wrapped.delete(path);
          expect(before, where).toBeDefined();
          model.delete(path);
          break;
        }
      }
    } catch (error) {
      // Only operations on a missing file may fail, and only with not-found.
      const mayFail = op.kind === 'setSize' || op.kind === 'rename' || op.kind === 'delete';
      if (!mayFail || before !== undefined || !isVfsError(error, 'not-found')) throw error;
    }
    for (const p of paths) {
      const m = model.get(p);
      expect(await inner.exists(p), `${where}: exists ${p}`).toBe(m !== undefined);
      if (!m) continue;
      const stored = await inner.read(p);
      expect(stored.length, `${where}: size of ${p}`).toBe(m.logical.length);
      expect((await wrapped.stat(p)).size).toBe(m.logical.length);
      expect(await wrapped.read(p)).toEqual(stored);
      if (m.verbatim) {
        expect(dec(stored), `${where}: ${p} is unscrubbed`).toBe(dec(m.logical));
        continue;
      }
      if (scrubbed(p)) {
        for (const secret of secrets) {
          expect(occurs(stored, secret), `${where}: ${dec(secret)} stored in ${p}: ${dec(stored)}`).toBe(
            false,
          );
        }
      }
      for (let i = 0; i < stored.length; i++) {
        const ok = stored[i] === m.logical[i] || (maskBytes.has(stored[i]!) && m.logical[i] !== 0);
        if (!ok) expect.fail(`${where}: byte ${i} of ${p}: stored ${stored[i]}, written ${m.logical[i]}`);
      }
    }
  }
}

const RUNS = 300;

describe('scrub: properties', { timeout: 300_000 }, () => {
  it(`no secret is ever stored, sizes and offsets stay the caller's (policy all, async, ${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.chain((config) => fc.tuple(fc.constant(config), opsArb(config, 2))),
        async ([config, ops]) => {
          const inner = referenceStorage();
          const wrapped = scrub(inner, { ...config, secrets: config.secrets });
          await check(config, ['/a', '/b'], () => true, ops, inner, wrapped);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`the same through the sync twin, with secrets given as bytes (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.chain((config) => fc.tuple(fc.constant(config), opsArb(config, 2))),
        async ([config, ops]) => {
          const inner = referenceStorage();
          const wrapped = scrub(inner, { ...config, secrets: config.secrets.map(enc) });
          await check(config, ['/a', '/b'], () => true, ops, inner, wrapped.sync!);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`policy only(*.log): unscrubbed files stay verbatim, renames into *.log scrub (async-only inner, ${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.chain((config) => fc.tuple(fc.constant(config), opsArb(config, 3))),
        async ([config, ops]) => {
          const inner = referenceStorage();
          const wrapped = scrub({ ...inner, sync: undefined }, { ...config, policy: { only: ['*.log'] } });
          await check(config, ['/a.log', '/b.tmp', '/c.tmp'], (p) => p.endsWith('.log'), ops, inner, wrapped);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('concurrent writes through the async-only path never store a secret', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.chain((config) => fc.tuple(fc.constant(config), opsArb(config, 1))),
        async ([config, ops]) => {
          const inner = referenceStorage();
          const wrapped = scrub({ ...inner, sync: undefined }, config);
          await wrapped.write('/a', new Uint8Array(0));
          await Promise.allSettled(
            ops.map((op) =>
              op.kind === 'writeAt'
                ? wrapped.writeAt('/a', op.offset, enc(op.data))
                : op.kind === 'append' || op.kind === 'write'
                  ? wrapped.append('/a', enc(op.data))
                  : Promise.resolve(),
            ),
          );
          const stored = await inner.read('/a');
          for (const secret of config.secrets) expect(occurs(stored, enc(secret))).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });
});
