import {
  MUTATING_OPERATIONS,
  OPERATIONS,
  READ_OPERATIONS,
  readOnly,
  type StorageOperation,
  toAsync,
  type VfsStorage,
} from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { expectError, referenceStorage } from '../src/index.js';
import { SAMPLE_ARGUMENTS } from '../src/util.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const SAMPLE = SAMPLE_ARGUMENTS;

/** A call of `op` on `path` with valid other arguments (a second path is `to`). */
const callOf = (storage: VfsStorage, op: StorageOperation, path: string, to = '/elsewhere') => {
  let paths = 0;
  const args = OPERATIONS[op].args.map((kind) =>
    kind === 'path' ? (paths++ === 0 ? path : to) : SAMPLE[kind],
  );
  return () => (storage[op] as (...a: unknown[]) => Promise<unknown>)(...args);
};

const forms: [string, (inner: VfsStorage) => VfsStorage][] = [
  ['sync twin', (inner) => toAsync(readOnly(inner).sync!)],
  ['async form', (inner) => readOnly(inner)],
  ['async-only inner', (inner) => readOnly({ ...inner, sync: undefined })],
];

describe.each(forms)('readOnly (%s)', (_, make) => {
  async function seeded() {
    const inner = referenceStorage();
    await inner.mkdir('/d');
    await inner.write('/d/f', text('keep'));
    await inner.symlink('/d/l', 'f');
    return { inner, view: make(inner) };
  }

  it('refuses every mutating operation of the table with read-only, storing nothing', async () => {
    const { inner, view } = await seeded();
    for (const op of MUTATING_OPERATIONS) {
      for (const path of ['/d/f', '/d/new', '/d']) {
        const error = await expectError(callOf(view, op, path), 'read-only');
        expect(error.path, `path of the ${op} error`).toBe(path);
      }
    }
    expect(str(await inner.read('/d/f'))).toBe('keep');
    expect((await inner.list('/d')).map((e) => e.name)).toEqual(['f', 'l']);
    expect(await inner.exists('/elsewhere')).toBe(false);
  });

  it('passes every read operation through', async () => {
    const { view } = await seeded();
    for (const op of READ_OPERATIONS) {
      const path = op === 'list' ? '/d' : op === 'readlink' ? '/d/l' : '/d/f';
      await expect(callOf(view, op, path)(), op).resolves.toBeDefined();
    }
    expect(str(await view.read('/d/f'))).toBe('keep');
    expect((await view.stat('/d/f')).size).toBe(4);
    expect(await view.readlink('/d/l')).toBe('f');
  });

  it('checks arguments first: a bad path is invalid-path, not read-only', async () => {
    const { view } = await seeded();
    for (const op of MUTATING_OPERATIONS) await expectError(callOf(view, op, 'relative'), 'invalid-path');
  });

  it('keeps the inner capabilities and limits and closes the inner storage', async () => {
    const { inner, view } = await seeded();
    expect(view.capabilities).toEqual(inner.capabilities);
    await view.close();
    await expectError(() => view.stat('/d'), 'io');
  });
});
