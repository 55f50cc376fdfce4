import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, storeUrl, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
/** Two file sizes: a streamed copy of the larger must not take (much) more memory than of the smaller. */
const SMALL = 32 * MiB;
const LARGE = 128 * MiB;

/** Runs the CLI under `/usr/bin/time`, stdout to `output`; returns the exit code and the max RSS in bytes. */
function measured(
  args: string[],
  cwd: string,
  output: string,
): Promise<{ code: number | null; maxRss: number }> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(output);
    out.on('open', () => {
      const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, BIN, ...args], {
        cwd,
        stdio: ['ignore', out, 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => {
        out.close();
        const kb = /maxrss=(\d+)/.exec(stderr)?.[1];
        if (!kb) reject(new Error(`no maxrss in ${stderr}`));
        else resolve({ code, maxRss: Number(kb) * 1024 });
      });
    });
  });
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

// A file much larger than the chunks is streamed: the memory of cat and cp does not grow with the
// file. Measured as the peak RSS of the process for a 32 MiB and a 128 MiB file: 96 MiB more data
// must cost less than 32 MiB more memory (a command that held the file would need 96 MiB more).
describe('large files are streamed', () => {
  let dir: string;
  let url: string;
  let digest: string;

  beforeAll(async () => {
    dir = await tempDir();
    url = storeUrl('sqlite');
    for (const [name, size] of [
      ['small.bin', SMALL],
      ['large.bin', LARGE],
    ] as const) {
      const file = await open(join(dir, name), 'w');
      for (let written = 0; written < size; written += 8 * MiB) await file.write(randomBytes(8 * MiB));
      await file.close();
      expect((await cli(['cp', '--to', url, name, `/${name}`], { cwd: dir })).code).toBe(0);
    }
    digest = await sha256(join(dir, 'large.bin'));
  });

  it.each([
    ['cat', (name: string) => ['cat', url, `/${name}`]],
    ['cp store -> host', (name: string) => ['cp', '--from', url, `/${name}`, `copy-${name}`]],
    ['cp host -> store', (name: string) => ['cp', '--to', storeUrl('sqlite'), name, `/${name}`]],
  ])('%s', async (what, args) => {
    const small = await measured(args('small.bin'), dir, join(dir, 'small.out'));
    const large = await measured(args('large.bin'), dir, join(dir, 'large.out'));
    expect([small.code, large.code]).toEqual([0, 0]);
    if (what === 'cat') expect(await sha256(join(dir, 'large.out'))).toBe(digest);
    if (what === 'cp store -> host') expect(await sha256(join(dir, 'copy-large.bin'))).toBe(digest);
    expect(large.maxRss - small.maxRss).toBeLessThan(32 * MiB);
  });
});
