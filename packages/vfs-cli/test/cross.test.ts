import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Backend, cli, storeUrl, tempDir } from './helpers.js';

// Store -> store copies and moves between two different backends, recursive.
const PAIRS: [Backend, Backend][] = [
  ['sqlite', 'postgres'],
  ['postgres', 's3'],
  ['s3', 'sqlite'],
];

describe.each(PAIRS)('%s -> %s', (fromBackend, toBackend) => {
  let dir: string;
  let from: string;
  let to: string;
  const big = randomBytes(2 * 1024 * 1024 + 5);
  const run = (...args: string[]) => cli(args, { cwd: dir });

  beforeAll(async () => {
    dir = await tempDir();
    from = storeUrl(fromBackend);
    to = storeUrl(toBackend);
    await mkdir(join(dir, 'tree/deep/er/est'), { recursive: true });
    await writeFile(join(dir, 'tree/small.txt'), 'small');
    await writeFile(join(dir, 'tree/deep/big.bin'), big);
    await writeFile(join(dir, 'tree/deep/er/empty.txt'), '');
    expect((await run('cp', '-r', '--to', from, 'tree', '/tree')).code).toBe(0);
  });

  it('cp -r copies the whole tree, file contents and empty directories included', async () => {
    expect((await run('mkdir', to, '/into')).code).toBe(0);
    const copied = await run('cp', '-r', '--from', from, '--to', to, '/tree', '/into');
    expect(copied).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const du = (url: string, path: string) =>
      run('du', '--json', url, path).then((r) => JSON.parse(r.stdout));
    expect(await du(to, '/into/tree')).toEqual({ ...(await du(from, '/tree')), path: '/into/tree' });
    expect((await run('tree', to, '/into/tree')).stdout).toBe(
      (await run('tree', from, '/tree')).stdout.replace('/tree/', '/into/tree/'),
    );
    expect((await run('cat', to, '/into/tree/deep/big.bin')).bytes.equals(big)).toBe(true);
    expect((await run('cat', to, '/into/tree/small.txt')).stdout).toBe('small');
  });

  it('mv moves a tree across backends: copied, then removed from the source', async () => {
    expect((await run('mv', '--from', from, '--to', to, '/tree/deep', '/deep')).code).toBe(0);
    expect((await run('cat', to, '/deep/big.bin')).bytes.equals(big)).toBe(true);
    expect((await run('ls', to, '/deep/er')).stdout).toBe('empty.txt\nest/\n');
    expect((await run('ls', from, '/tree')).stdout).toBe('small.txt\n');
  });
});
