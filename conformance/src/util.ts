import { randomBytes } from 'node:crypto';
import {
  type ArgumentKind,
  isVfsError,
  type VfsErrorCode,
  type VfsStorage,
  type VfsSyncStorage,
} from '@eryx/vfs-core';
import { expect } from 'vitest';
import type { SuiteContext } from './context.js';

/** A short random name, so tests and suites never collide. */
export function randomName(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** `n` bytes of a pattern that differs per `seed` and per position (never all zeros). */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) & 0xff || 1;
  }
  return out;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A valid argument of each kind of the operation table but `path`, for table-driven calls. */
export const SAMPLE_ARGUMENTS: Readonly<Record<Exclude<ArgumentKind, 'path'>, unknown>> = {
  offset: 0,
  length: 1,
  size: 0,
  data: text('x'),
  times: { modified: 1 },
  extents: [[0, text('x')]],
  writeOptions: { modified: 1 },
  linkTarget: 'target',
};

/**
 * Asserts that `run` rejects with a VfsError of `code`; returns the error. Failures name the call
 * (`what`, default the source text of `run`) and the path of the error.
 */
export async function expectError(run: () => Promise<unknown> | unknown, code: VfsErrorCode, what?: string) {
  const call = what ?? callText(run);
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) expect.fail(`expected a VfsError "${code}" from ${call}, but the call succeeded`);
  if (!isVfsError(caught)) expect.fail(`expected a VfsError "${code}" from ${call}, got ${String(caught)}`);
  expect(caught.code, `error code from ${call} (${caught.message})`).toBe(code);
  return caught;
}

/** `() => s.read(p)` → `s.read(p)`: the call an arrow function makes, to name it in failures. */
function callText(run: () => unknown): string {
  const source = String(run)
    .replace(/^(async\s*)?\(\)\s*=>\s*/, '')
    .replace(/\s+/g, ' ');
  return source.length > 120 ? `${source.slice(0, 117)}...` : source;
}

/** Byte-array equality with a readable failure message (first differing offset). */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  expect(actual, `${what}: type`).toBeInstanceOf(Uint8Array);
  if (actual.length !== expected.length) {
    expect.fail(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      expect.fail(`${what}: differ at offset ${i}: ${actual[i]} vs expected ${expected[i]}`);
    }
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(workers);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sync twin of the store under test, which must have the optional member `name`. */
export function syncTwinWith<K extends 'flush' | 'readAtView'>(
  ctx: SuiteContext,
  name: K,
): VfsSyncStorage & Required<Pick<VfsSyncStorage, K>> {
  const storage = ctx.storage.sync;
  if (typeof storage?.[name] !== 'function') throw new Error(`the sync twin has no ${name}`);
  return storage as VfsSyncStorage & Required<Pick<VfsSyncStorage, K>>;
}

/** Expects `run` to fail with `code` and nothing below `dir` (the test's directory) to change. */
export async function expectRefusedBelow(
  s: VfsStorage,
  dir: string,
  run: () => Promise<unknown>,
  code: VfsErrorCode,
  what?: string,
): Promise<void> {
  const before = await treeBelow(s, dir);
  await expectError(run, code, what);
  expect(await treeBelow(s, dir), `the test directory after ${what ?? 'a refused call'}`).toEqual(before);
}

/** Every entry below `dir` (recursively) with its kind and what it holds: content or target. */
export async function treeBelow(s: VfsStorage, dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const pending = [dir];
  while (pending.length > 0) {
    const d = pending.pop()!;
    for (const e of await s.list(d)) {
      const path = `${d}/${e.name}`;
      if (e.kind === 'directory') {
        out[path] = 'dir';
        pending.push(path);
      } else if (e.kind === 'symlink') out[path] = `link:${e.size}:${await s.readlink(path)}`;
      else out[path] = `file:${e.size}:${str(await s.read(path))}`;
    }
  }
  return out;
}
