import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postgresStoreUrl } from '@eryx/test-servers';
import { postgresStore } from '@eryx/vfs-postgres';
import { afterAll, expect, it } from 'vitest';

const exec = promisify(execFile);
const cache = mkdtempSync(join(tmpdir(), 'eryx-example-pg-'));
const namespace = `example-${process.pid}-${Date.now()}`;
const url = postgresStoreUrl(namespace);
afterAll(async () => {
  await postgresStore.drop(url);
  rmSync(cache, { recursive: true, force: true });
});

/** `pnpm start [url]` as a user runs it; `env` adds to the environment (DATABASE_URL). */
async function start(args: string[], env: Record<string, string> = {}) {
  const options = {
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, ERYX_VFS_CACHE: cache, ...env },
  };
  return exec(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], options);
}

it('keeps what one run wrote to PostgreSQL for the next run and the next process', async () => {
  const first = (await start([url])).stdout;
  const [printed] = first.split('\n');
  expect(printed).toMatch(/^\/data is postgres:\/\/[^:]+:redacted@/);
  expect(printed).not.toContain(new URL(url.replace(/^postgres/, 'http')).password);
  expect(first).toMatch(/run 1: added "hello from process \d+"\nruns so far: 1\n {2}1: hello/);
  // The second process takes the URL from DATABASE_URL.
  const second = (await start([], { DATABASE_URL: url })).stdout;
  expect(second).toMatch(/runs so far: 2\n {2}1: hello from process \d+\n {2}2: hello from process \d+\n/);
  expect(second).toContain('PostgreSQL holds /notes.txt: 2 notes');
  expect((await postgresStore.namespaces!(url)).map((n) => n.name)).toContain(namespace);
});

it('without a URL, says how to give one', async () => {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const failed = await exec(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    env,
  }).catch((error: { code: number; stderr: string }) => error);
  expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: pnpm start postgres://') });
});

it('ships the notes guest of this repository, byte for byte', () => {
  const sums = readFileSync(new URL('../../../guests/fixtures/checksums.txt', import.meta.url), 'utf8');
  const copy = readFileSync(new URL('../notes.component.wasm', import.meta.url));
  const sha = createHash('sha256').update(copy).digest('hex');
  expect(sums).toContain(`${sha}  fixtures/notes.component.wasm`);
});
