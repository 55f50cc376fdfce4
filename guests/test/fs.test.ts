import { afterEach, describe, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';
import { backendsAndBindings, type TestStore } from './backends.js';

describe.each(backendsAndBindings)('C guest fs_test on $name, $bindings bindings', (backend) => {
  const stores: TestStore[] = [];
  const store = (options?: { maxBytes?: number }) => {
    const s = backend.store(options);
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.destroy();
  });

  it('passes every POSIX check (open flags, I/O, seek, stat, directories, rename, unlink, errno)', async () => {
    const data = store();
    const ro = store();
    const roStorage = ro.open();
    const seed = 'sync' in roStorage && roStorage.sync ? roStorage.sync : roStorage;
    await seed.write('/hello.txt', new TextEncoder().encode('read only\n'));
    const other = store();

    const run = await runGuest('fs_test', {
      bindings: backend.bindings,
      mounts: {
        '/data': data.open(),
        '/ro': { storage: roStorage, readOnly: true },
        '/other': other.open(),
      },
    });

    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('read-only mount present');
    expect(run.stdout).toContain('second mount present');
    expect(run.stdout).toMatch(/\d+ checks, 0 failed/);
    expect(run.exitCode).toBe(0);
  });

  it('reports ENOSPC when the store is full, and stays usable', async () => {
    const data = store({ maxBytes: 1024 * 1024 });
    const run = await runGuest('fs_test', {
      bindings: backend.bindings,
      mounts: { '/data': data.open() },
      args: ['enospc'],
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/\d+ checks, 0 failed/);
    expect(run.exitCode).toBe(0);
  });
});
