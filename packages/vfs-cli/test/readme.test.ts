import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';
import { cli } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');

it('runs the README example as written', async () => {
  const example = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const file = join(here, `.readme-example-${randomUUID()}.ts`);
  writeFileSync(file, example.replaceAll("from '@eryx/vfs-cli'", "from '../src/index.js'"));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(file);
    expect(log).toHaveBeenCalledWith(0, { path: '/', kind: 'directory', entries: [] });
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
});

it('documents every command of eryx-vfs --help', async () => {
  const help = (await cli(['--help'])).stdout;
  const commands = [...help.matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1]!);
  expect(commands.length).toBeGreaterThan(10);
  for (const command of commands) expect(readme, command).toMatch(new RegExp(`\\| \`${command}( |\`)`));
});
