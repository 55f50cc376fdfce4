import { afterEach, describe, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';
import { allBackends, type TestStore } from './backends.js';

describe.each(allBackends)('files persist across executions on $name', (backend) => {
  const stores: TestStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.destroy();
  });

  it('execution 1 writes, execution 2 reads and appends, execution 3 verifies', async () => {
    const store = backend.store();
    stores.push(store);

    const first = await runGuest('notes', { mounts: { '/data': store.open() }, args: ['add', 'first'] });
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('run 1: added "first"\n');
    expect(first.exitCode).toBe(0);

    const second = await runGuest('notes', { mounts: { '/data': store.open() }, args: ['add', 'second'] });
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe('run 2: added "second"\n');

    const third = await runGuest('notes', { mounts: { '/data': store.open() }, args: ['check', '2'] });
    expect(third.stderr).toBe('');
    expect(third.stdout).toBe('ok: 2 runs, 2 notes\n');
    expect(third.exitCode).toBe(0);

    const list = await runGuest('notes', { mounts: { '/data': store.open() }, args: ['list'] });
    expect(list.stdout).toBe('runs so far: 2\n  1: first\n  2: second\n');

    // What the guest wrote is in the storage itself, readable without any guest.
    const storage = store.open();
    const notes = await Promise.resolve(storage.read('/notes.txt'));
    expect(new TextDecoder().decode(notes)).toBe('1: first\n2: second\n');
  });

  it('a failing check is reported on stderr with a non-zero status', async () => {
    const store = backend.store();
    stores.push(store);
    const run = await runGuest('notes', { mounts: { '/data': store.open() }, args: ['check', '1'] });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('expected 1 runs and notes, found 0 runs and 0 notes');
  });
});
