import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sqlite } from '@eryx/vfs-sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'eryx-guests-concurrent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the notes guest once per entry of `runs` (its arguments) in a worker thread of its own. */
function writer(workerData: { path: string; namespace: string; runs: string[][] }) {
  return new Promise<{ failures: string[]; outputs: string[] }>((resolve, reject) => {
    const worker = new Worker(new URL('./notes-worker.mjs', import.meta.url), { workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`writer exited with ${code}`));
    });
  });
}

describe('guests writing one SQLite store at the same time', () => {
  it('O_APPEND writes from concurrent executions never overwrite each other', async () => {
    const path = join(dir, 'shared.db');
    const namespace = 'concurrent';
    const count = 15;
    const tags = ['alpha', 'beta', 'gamma'];
    const results = await Promise.all(
      tags.map((tag) =>
        writer({ path, namespace, runs: Array.from({ length: count }, (_, i) => ['add', `${tag} ${i}`]) }),
      ),
    );
    expect(results.flatMap((r) => r.failures)).toEqual([]);

    const storage = sqlite({ path, namespace });
    try {
      const lines = new TextDecoder().decode(storage.sync.read('/notes.txt')).trimEnd().split('\n');
      expect(lines).toHaveLength(tags.length * count);
      for (const tag of tags) {
        const mine = lines
          .map((line) => line.replace(/^\d+: /, ''))
          .filter((note) => note.startsWith(`${tag} `));
        // Every note of every writer is there, each writer's in its own order.
        expect(mine).toEqual(Array.from({ length: count }, (_, i) => `${tag} ${i}`));
      }
    } finally {
      await storage.close();
    }
  });

  it('O_CREAT|O_EXCL from concurrent executions: every file has exactly one winner', async () => {
    const path = join(dir, 'claims.db');
    const namespace = 'claims';
    const names = Array.from({ length: 40 }, (_, i) => `lock${i}`);
    const tags = ['alpha', 'beta', 'gamma'];
    // Each writer claims every name, in rounds of 8 names per execution, all in the same order.
    const rounds = Array.from({ length: names.length / 8 }, (_, r) => names.slice(r * 8, r * 8 + 8));
    const results = await Promise.all(
      tags.map((tag) => writer({ path, namespace, runs: rounds.map((round) => ['claim', tag, ...round]) })),
    );
    expect(results.flatMap((r) => r.failures)).toEqual([]);

    const winners = new Map<string, string[]>();
    results.forEach((result, i) => {
      for (const line of result.outputs.join('').trim().split('\n')) {
        const [outcome, name] = line.split(' ') as [string, string];
        expect(['won', 'lost']).toContain(outcome);
        if (outcome === 'won') winners.set(name, [...(winners.get(name) ?? []), tags[i]!]);
      }
    });
    const storage = sqlite({ path, namespace });
    try {
      for (const name of names) {
        expect(winners.get(name), name).toHaveLength(1);
        // The file holds what its one winner wrote.
        expect(new TextDecoder().decode(storage.sync.read(`/${name}`))).toBe(winners.get(name)![0]);
      }
    } finally {
      await storage.close();
    }
  });
});
