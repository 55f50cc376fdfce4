import { memory } from '@eryx/vfs-memory';
import type { RunResult } from '@eryx/vfs-run';
import { describe, expect, it } from 'vitest';
import { python } from './helpers.js';

/** After a run that went wrong, the next run in this process must work as usual. */
async function expectNextRunWorks(): Promise<void> {
  const next = await python({
    code: 'import os; print(6 * 7, sorted(os.listdir("/data")))',
    mounts: { '/data': 'memory:' },
  });
  expect(next).toMatchObject({ status: 'exited', exitCode: 0, stdout: '42 []\n', stderr: '' });
}

/** Ended as a Python exception (the traceback names `error`) or a trap, never otherwise. */
function expectCleanFailure(result: RunResult, error: RegExp): void {
  if (result.status === 'trapped') {
    expect(result.exitCode).toBe(1);
    expect(result.error).toEqual(expect.any(String));
  } else {
    expect(result.status).toBe('exited');
    expect(result.stdout + result.stderr).toMatch(error);
  }
}

describe('a runaway guest', () => {
  it('is stopped by the timeout (busy without host calls), and the next run works', async () => {
    const started = performance.now();
    const result = await python({ code: 'while True: pass', timeout: 1_000, stopGrace: 250 });
    expect(result).toMatchObject({ status: 'timeout', exitCode: 124, unstored: [] });
    // Stopped near the timeout: start-up, the second, the grace period, and slack for a busy CI machine.
    expect(performance.now() - started).toBeLessThan(15_000);
    await expectNextRunWorks();
  });

  it('is stopped by the timeout while calling the host in a loop, its writes kept', async () => {
    const storage = memory();
    const result = await python({
      code: [
        'import os',
        'open("/data/before.txt", "w").write("kept")',
        'while True:',
        '    os.stat("/data/before.txt")',
      ].join('\n'),
      mounts: { '/data': storage },
      timeout: 1_000,
    });
    expect(result).toMatchObject({ status: 'timeout', exitCode: 124, unstored: [] });
    expect(new TextDecoder().decode(await storage.read('/before.txt'))).toBe('kept');
    await expectNextRunWorks();
  });
});

describe('allocations beyond the guest memory', () => {
  it('bytearray(2**31) fails in Python (wider than the 32-bit guest can index)', async () => {
    const result = await python({ code: 'b = bytearray(2**31)' });
    expectCleanFailure(result, /(OverflowError|MemoryError)/);
    expect(result.status).toBe('exited');
    await expectNextRunWorks();
  });

  it('bytearray(2**31 - 1) and bytearray(2**28) raise MemoryError, which Python can catch', async () => {
    const result = await python({
      code: [
        'for size in (2**31 - 1, 2**28):',
        '    try:',
        '        bytearray(size)',
        '    except MemoryError:',
        '        print("MemoryError", size)',
        'print("still running")',
      ].join('\n'),
    });
    expectCleanFailure(result, /MemoryError/);
    if (result.status === 'exited') {
      expect(result.stdout).toBe(`MemoryError ${2 ** 31 - 1}\nMemoryError ${2 ** 28}\nstill running\n`);
    }
    await expectNextRunWorks();
  });

  it('a list growing until memory runs out ends in MemoryError or a trap, and the host goes on', async () => {
    const result = await python({
      code: [
        'chunks = []',
        'try:',
        '    while True:',
        '        chunks.append(bytearray(1 << 20))',
        'except MemoryError:',
        '    count = len(chunks)',
        '    chunks.clear()',
        '    print("MemoryError after", count, "MiB")',
      ].join('\n'),
      mounts: { '/data': 'memory:' },
      timeout: 120_000,
    });
    expect(result.status).not.toBe('timeout');
    expectCleanFailure(result, /MemoryError after \d+ MiB/);
    await expectNextRunWorks();
  }, 150_000);

  it('many small objects until memory runs out end the same way', async () => {
    const result = await python({
      code: [
        'items = []',
        'try:',
        '    while True:',
        '        items.append([0] * 1000)',
        'except MemoryError:',
        '    items = None',
        '    print("MemoryError")',
      ].join('\n'),
      timeout: 120_000,
    });
    expect(result.status).not.toBe('timeout');
    expectCleanFailure(result, /MemoryError/);
    await expectNextRunWorks();
  }, 150_000);
});
