import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';
import { sandbox } from './readme-mounts.js';

const temp = mkdtempSync(join(tmpdir(), 'eryx-readme-mounts-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

it('the "Mounts" example of the vfs-core README is this file, and works as it says', async () => {
  const readme = readFileSync(new URL('../../packages/vfs-core/README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('./readme-mounts.ts', import.meta.url), 'utf8').trim();
  expect(readme).toContain(['```ts', example, '```'].join('\n'));

  for (const dir of ['scratch', 'dataset']) mkdirSync(join(temp, dir));
  writeFileSync(join(temp, 'dataset', 'rows.csv'), 'a,b\n');
  writeFileSync(join(temp, 'app.conf'), 'debug=0\n');
  const host = {
    scratch: join(temp, 'scratch'),
    dataset: join(temp, 'dataset'),
    config: join(temp, 'app.conf'),
  };
  const listing = async (dir: string) =>
    (await runGuest('escape', { ...sandbox(host), args: ['ls', dir] })).stdout;
  expect(await listing('/')).toBe('/ =data,datasets,etc,scratch\n');
  expect(await listing('/datasets')).toBe('/datasets =public\n');
  expect(await listing('/datasets/public')).toBe('/datasets/public =rows.csv\n');
  expect(await listing('/etc')).toBe('/etc =app.conf\n');
  const cat = await runGuest('escape', { ...sandbox(host), args: ['cat', '/etc/app.conf'] });
  expect(cat.stdout).toBe('debug=0\n');
});
