import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'eryx-example-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `pnpm start <url>` as a user runs it, with its own cache of transpiled components. */
async function start(url: string): Promise<string> {
  const env = { ...process.env, ERYX_VFS_CACHE: join(dir, 'cache') };
  const options = { cwd: new URL('..', import.meta.url), env };
  return (await exec(process.execPath, ['--import', 'tsx', 'src/main.ts', url], options)).stdout;
}

it('keeps what one run of the guest wrote for the next run, and for the next process', async () => {
  const url = `sqlite:${join(dir, 'notes.db')}#test`;
  const first = await start(url);
  expect(first).toMatch(/^run 1: added "hello from process \d+"\nruns so far: 1\n {2}1: hello/);
  expect(first).toContain(`${url} holds /notes.txt: 1 notes`);
  const second = await start(url);
  expect(second).toMatch(/runs so far: 2\n {2}1: hello from process \d+\n {2}2: hello from process \d+\n/);
  expect(second).toContain(`${url} holds /notes.txt: 2 notes`);
}, 120_000);

it('ships the notes guest of this repository, byte for byte', () => {
  const sums = readFileSync(new URL('../../../guests/fixtures/checksums.txt', import.meta.url), 'utf8');
  const copy = readFileSync(new URL('../notes.component.wasm', import.meta.url));
  const sha = createHash('sha256').update(copy).digest('hex');
  expect(sums).toContain(`${sha}  fixtures/notes.component.wasm`);
});
