import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, storeUrl, tempDir } from './helpers.js';

/**
 * Runs a command in a real pseudo-terminal (`script` from util-linux): stdin, stdout and stderr are
 * the terminal, as for a user at a prompt. Returns what the terminal received.
 */
function inTerminal(args: string[], cwd: string): Promise<{ code: number | null; screen: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd,
      env: { ...process.env, COLUMNS: '120', LINES: '40', TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
    child.stdin.end();
  });
}

/** The progress line as the last redraw left it: bytes done, total, rate, files. */
const BAR = /\[[█░]{24}\] 100% \| [\d.]+ MiB \/ [\d.]+ MiB \| [\d.]+ (?:B|KiB|MiB|GiB)\/s \| 3\/3 files/;

describe('progress bar', () => {
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = await tempDir();
    url = storeUrl('sqlite');
    await mkdir(join(dir, 'data/sub'), { recursive: true });
    await writeFile(join(dir, 'data/a.bin'), randomBytes(6 * 1024 * 1024));
    await writeFile(join(dir, 'data/sub/b.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(dir, 'data/sub/c.txt'), 'c');
  });

  it('cp shows bytes, total, rate and files on a terminal', async () => {
    const { code, screen } = await inTerminal(['cp', '-r', '--to', url, 'data', '/data'], dir);
    expect(code).toBe(0);
    expect(screen).toMatch(new RegExp(`cp ${BAR.source}`));
    expect(screen).toContain('9.0 MiB / 9.0 MiB');
  });

  it('export and import show bytes, rate and files on a terminal', async () => {
    const exported = await inTerminal(['export', url, '/data', '-o', 'data.tar'], dir);
    expect(exported.code).toBe(0);
    expect(exported.screen).toMatch(/export 9\.0 MiB \| [\d.]+ (?:B|KiB|MiB|GiB)\/s \| 3 files/);
    const imported = await inTerminal(['import', storeUrl('sqlite'), 'data.tar'], dir);
    expect(imported.code).toBe(0);
    // The bar of an import counts the archive's bytes, against the archive's size.
    expect(imported.screen).toMatch(
      /import \[█{24}\] 100% \| 9\.0 MiB \/ 9\.0 MiB \| [\d.]+ \w+\/s \| 3 files/,
    );
  });

  it('gc shows objects examined on a terminal (S3)', async () => {
    const s3 = storeUrl('s3');
    expect((await cli(['cp', '-r', '--to', s3, 'data', '/data'], { cwd: dir })).code).toBe(0);
    const { code, screen } = await inTerminal(['gc', '--min-age', '0', s3], dir);
    expect(code).toBe(0);
    expect(screen).toMatch(/gc (scanning|deleting) [\d.]+ \w+ \| [\d.]+ \w+\/s \| \d+ objects?/);
    expect(screen).toMatch(/examined \d+ objects, deleted 0/);
  });

  it('--quiet, and stderr that is not a terminal, show nothing', async () => {
    const quiet = await inTerminal(['cp', '-q', '-r', '--to', storeUrl('sqlite'), 'data', '/data'], dir);
    expect(quiet).toEqual({ code: 0, screen: '' });
    for (const args of [
      ['cp', '-r', '--to', storeUrl('sqlite'), 'data', '/data'],
      ['export', url, '/data', '-o', 'again.tar'],
      ['import', storeUrl('sqlite'), 'data.tar'],
    ]) {
      expect(await cli(args, { cwd: dir })).toMatchObject({ code: 0, stdout: '', stderr: '' });
    }
  });

  it('export refuses to write an archive to a terminal', async () => {
    const { code, screen } = await inTerminal(['export', url], dir);
    expect(code).toBe(2);
    expect(screen).toContain('refusing to write a tar archive to a terminal — use -o <file.tar>');
  });
});
