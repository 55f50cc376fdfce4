import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { limits, scrub } from '@eryx/vfs-core';
import { memory } from '@eryx/vfs-memory';
import { sqlite } from '@eryx/vfs-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';

// Scrubbing and limits seen from a real guest: what the C program writes through stdio and
// O_APPEND, and the errno it gets when a limit refuses a write.
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const dir = mkdtempSync(join(tmpdir(), 'eryx-guest-wrappers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scrubbing under a guest', () => {
  it('no placeholder written by the guest reaches storage, sizes stay as written', async () => {
    const inner = memory();
    const data = scrub(inner, { secrets: ['{{API_KEY}}', 'sk-live-123'] });
    const note = 'call with {{API_KEY}} and sk-live-123 please';
    const run = await runGuest('notes', { mounts: { '/data': data }, args: ['add', note] });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const stored = text(await inner.read('/notes.txt'));
    expect(stored).not.toContain('{{API_KEY}}');
    expect(stored).not.toContain('sk-live-123');
    expect(stored).toContain('[REDACTED]*');
    expect(stored).toBe('1: call with [REDACTED]* and [REDACTED]* please\n');
    expect(stored.length).toBe('1: '.length + note.length + 1);
    const list = await runGuest('notes', { mounts: { '/data': data }, args: ['list'] });
    expect(list.stdout).toContain('call with [REDACTED]* and ');
  });
});

describe('limits under a guest', () => {
  it('the limits wrapper refuses growth with ENOSPC and keeps the store consistent', async () => {
    const inner = memory();
    const data = limits(inner, { maxBytes: 40 });
    const first = await runGuest('notes', { mounts: { '/data': data }, args: ['add', 'short'] });
    expect(first.exitCode).toBe(0);
    const before = text(await inner.read('/notes.txt'));
    const run = await runGuest('notes', {
      mounts: { '/data': data },
      args: ['add', 'x'.repeat(100)],
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/No space left on device/);
    expect(text(await inner.read('/notes.txt'))).toBe(before);
  });

  it('a path over maxPathLength is ENAMETOOLONG', async () => {
    const data = limits(memory(), { maxPathLength: 8 });
    const run = await runGuest('notes', { mounts: { '/data': data }, args: ['add', 'hi'] });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/too long/i);
  });

  it("SQLite's native limits, checked inside its transaction, reach the guest as ENOSPC", async () => {
    const storage = sqlite({ path: join(dir, 'limits.db'), namespace: 'guest', maxBytes: 40 });
    try {
      const run = await runGuest('notes', {
        mounts: { '/data': storage },
        args: ['add', 'y'.repeat(100)],
      });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/No space left on device/);
      expect((await storage.stat('/notes.txt').catch(() => ({ size: 0 }))).size).toBe(0);
    } finally {
      await storage.close();
    }
  });
});
