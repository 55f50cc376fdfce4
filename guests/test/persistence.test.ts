import { afterEach, describe, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';
import { backendsAndBindings, type TestStore } from './backends.js';

describe.each(backendsAndBindings)(
  'files persist across executions on $name, $bindings bindings',
  (backend) => {
    const stores: TestStore[] = [];
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.destroy();
    });

    it('execution 1 writes, execution 2 reads and appends, execution 3 verifies', async () => {
      const store = backend.store();
      stores.push(store);

      const first = await runGuest('notes', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['add', 'first'],
      });
      expect(first.stderr).toBe('');
      expect(first.stdout).toBe('run 1: added "first"\n');
      expect(first.exitCode).toBe(0);

      const second = await runGuest('notes', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['add', 'second'],
      });
      expect(second.stderr).toBe('');
      expect(second.stdout).toBe('run 2: added "second"\n');

      const third = await runGuest('notes', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['check', '2'],
      });
      expect(third.stderr).toBe('');
      expect(third.stdout).toBe('ok: 2 runs, 2 notes\n');
      expect(third.exitCode).toBe(0);

      const list = await runGuest('notes', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['list'],
      });
      expect(list.stdout).toBe('runs so far: 2\n  1: first\n  2: second\n');

      // What the guest wrote is in the storage itself, readable without any guest.
      const storage = store.open();
      const notes = await Promise.resolve(storage.read('/notes.txt'));
      expect(new TextDecoder().decode(notes)).toBe('1: first\n2: second\n');
    });

    it('SQLite compiled to WASI keeps its database across executions', async () => {
      const store = backend.store();
      stores.push(store);
      const first = await runGuest('sqlite_guest', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['add', '500'],
      });
      expect(first.stderr).toBe('');
      expect(first.stdout).toBe('run 1: added 500 rows, 500 in total\n');

      const second = await runGuest('sqlite_guest', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['add', '700'],
      });
      expect(second.stderr).toBe('');
      expect(second.stdout).toBe('run 2: added 700 rows, 1200 in total\n');

      const third = await runGuest('sqlite_guest', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['check', '2', '1200'],
      });
      expect(third.stderr).toBe('');
      expect(third.stdout).toBe('ok: 1200 rows from 2 runs, integrity ok\n');
      expect(third.exitCode).toBe(0);

      // The rollback journal was removed at each commit; the database file is a real SQLite file.
      const storage = store.open();
      const names = (await Promise.resolve(storage.list('/'))).map((entry) => entry.name);
      expect(names).toEqual(['guest.db']);
      const header = await Promise.resolve(storage.readAt('/guest.db', 0, 16));
      expect(new TextDecoder().decode(header)).toBe('SQLite format 3\0');
    });

    it('a failing check is reported on stderr with a non-zero status', async () => {
      const store = backend.store();
      stores.push(store);
      const run = await runGuest('notes', {
        bindings: backend.bindings,
        mounts: { '/data': store.open() },
        args: ['check', '1'],
      });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('expected 1 runs and notes, found 0 runs and 0 notes');
    });
  },
);
