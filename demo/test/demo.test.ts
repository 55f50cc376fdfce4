import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const demoDir = join(import.meta.dirname, '..');
const cli = join(demoDir, '..', 'packages', 'vfs-cli', 'dist', 'bin.js');
const state = mkdtempSync(join(tmpdir(), 'eryx-demo-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

/** `pnpm demo` as a user runs it (after the build), with its state in a temporary directory. */
async function demo(): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, VFS_DEMO_DIR: state };
  for (const name of ['VFS_STORE_URL', 'VFS_POSTGRES_URL', 'VFS_S3_ENDPOINT']) delete env[name];
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'src/demo.ts'], {
    cwd: demoDir,
    env,
  });
  return stdout;
}

describe('pnpm demo', () => {
  it('runs Python twice per demo and keeps its files across executions and demos', async () => {
    const first = await demo();
    expect(first).toContain('/data is sqlite:');
    expect(first).toContain('notes.txt grew from 1 to 2 lines, visits.db from 1 to 2 rows');
    expect(first).toMatch(/guest stdout \| Python 3\.11\.\d+ on wasi/);
    const second = await demo();
    expect(second).toContain('notes.txt grew from 3 to 4 lines, visits.db from 3 to 4 rows');
    expect(second).toContain('integrity_check ok');

    // The CLI command the demo prints shows the files it wrote.
    const url = /eryx-vfs cat '([^']+)' \/notes\.txt/.exec(second)?.[1];
    expect(url, 'the demo prints the CLI command').toBeDefined();
    const notes = await exec(process.execPath, [cli, 'cat', url!, '/notes.txt']);
    expect(notes.stdout.trimEnd().split('\n')).toHaveLength(4);
    const listed = await exec(process.execPath, [cli, 'ls', url!, '/']);
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(['notes.txt', 'visits.db']);
  }, 180_000);
});
