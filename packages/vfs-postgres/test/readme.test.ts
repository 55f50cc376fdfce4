import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect, it, vi } from 'vitest';
import { postgres } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

it('runs the README example as written', async () => {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const url = process.env.VFS_POSTGRES_URL!;
  // The example's first namespace outlives it (it only closes); start from an empty one.
  await postgres({ connectionString: url, namespace: 'sandbox-42' }).destroy();
  const file = join(here, `.readme-example-${randomUUID()}.ts`);
  writeFileSync(file, example.replaceAll("from '@eryx/vfs-postgres'", "from '../src/index.js'"));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  process.env.DATABASE_URL = url;
  try {
    await import(file);
    expect(log).toHaveBeenCalledWith(5, 'hello world');
  } finally {
    log.mockRestore();
    delete process.env.DATABASE_URL;
    rmSync(file, { force: true });
  }
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  const { rows } = await check.query(
    `SELECT count(*)::int AS n FROM sandboxes.vfs_entries WHERE ns = 'sandbox-43'`,
  );
  await check.end();
  expect(rows).toEqual([{ n: 0 }]);
});
