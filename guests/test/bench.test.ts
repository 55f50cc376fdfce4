import { memory } from '@eryx/vfs-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';
import { backendsAndBindings, type TestStore } from './backends.js';

// The guest of `pnpm bench`, at a tiny scale: it checks what it reads back itself (block stamps,
// file sizes, entry counts) and exits 1 on any mismatch.
const PHASES = [
  'seq_write',
  'seq_read',
  'rand_write',
  'rand_read',
  'append',
  'small_create',
  'small_stat',
  'readdir',
  'small_unlink',
];

describe.each(backendsAndBindings)('the bench guest on $name, $bindings bindings', (backend) => {
  const stores: TestStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.destroy();
  });

  it('runs every phase once per iteration and leaves nothing behind', async () => {
    const store = backend.store();
    stores.push(store);
    const run = await runGuest('bench', {
      bindings: backend.bindings,
      mounts: { '/data': store.open() },
      args: ['seq=196608', 'rand=20', 'randfile=65536', 'append=50', 'files=12', 'readdir=2', 'iterations=2'],
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.map((line) => line.split(' ')[1])).toEqual([...PHASES, ...PHASES]);
    for (const line of lines) expect(line).toMatch(/^phase \S+ \d+ \d+ \d+$/);
    // seq: 3 blocks of 64 KiB; readdir: 2 passes over 12 entries.
    expect(lines[0]).toMatch(/^phase seq_write 3 196608 /);
    expect(lines[7]).toMatch(/^phase readdir 24 0 /);
    const storage = store.open();
    expect(await Promise.resolve(storage.list('/'))).toEqual([]);
  });
});

describe('the bench guest with gate=1', () => {
  const args = ['seq=65536', 'rand=4', 'randfile=8192', 'append=5', 'files=3', 'readdir=1', 'gate=1'];

  it('reads one byte from stdin before each phase', async () => {
    const phasesSeen: number[] = [];
    let stdout = '';
    const run = await runGuest('bench', {
      mounts: { '/data': memory() },
      args: [...args, 'iterations=2'],
      onStdout: (chunk) => {
        stdout += new TextDecoder().decode(chunk);
      },
      // Each go is given only once the previous phase has reported.
      stdin: () => {
        phasesSeen.push(stdout.split('\n').length - 1);
        return new Uint8Array([1]);
      },
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(phasesSeen).toEqual(Array.from({ length: 18 }, (_, i) => i));
  });

  it('stops when stdin ends before a phase', async () => {
    const run = await runGuest('bench', {
      mounts: { '/data': memory() },
      args,
      stdin: new Uint8Array(4),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('no go on stdin');
    expect(run.stdout.trim().split('\n')).toHaveLength(4);
  });
});
