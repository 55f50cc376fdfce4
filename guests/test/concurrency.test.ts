import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sqlite } from '@eryx/vfs-sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'eryx-guests-concurrent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writer(workerData: { path: string; namespace: string; count: number; tag: string }) {
  return new Promise<{ failures: string[] }>((resolve, reject) => {
    const worker = new Worker(new URL('./append-worker.mjs', import.meta.url), { workerData });
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
    const results = await Promise.all(tags.map((tag) => writer({ path, namespace, count, tag })));
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
});
