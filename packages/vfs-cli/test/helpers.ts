import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresStoreUrl, s3StoreUrl } from '@eryx/test-servers';
import { afterAll } from 'vitest';

/** The built CLI: the tests run it as users do, one real process per command. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** What a spawned `eryx-vfs` did. */
export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for binary output: cat, export). */
  bytes: Buffer;
}

/** Options of {@link cli}. */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to the process's stdin, which is then closed. */
  input?: string | Uint8Array;
}

/** Runs `node dist/bin.js ...args` and collects its exit code and output. */
export function cli(args: string[], options: CliOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code, stdout: bytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytes });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test file. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eryx-cli-'));
  temps.push(dir);
  return dir;
}

/** A name no other test (or run) uses. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The key prefix of this run's S3 stores (their namespaces are below it). */
const S3_PREFIX = unique('cli');

/** The persistent backends every command is tested on. */
export type Backend = 'sqlite' | 'postgres' | 's3';
export const BACKENDS: Backend[] = ['sqlite', 'postgres', 's3'];

/**
 * A store URL of a fresh namespace on `backend`: a new SQLite file given relative to the working
 * directory (as a user would; run the CLI with `cwd` set), or the test servers' PostgreSQL and S3.
 */
export function storeUrl(backend: Backend, params: Record<string, string | number> = {}): string {
  const ns = unique('ns');
  switch (backend) {
    case 'sqlite': {
      const query = new URLSearchParams(
        Object.entries(params).map(([k, v]) => [k, String(v)] as [string, string]),
      ).toString();
      return `sqlite:./${unique('state')}.db${query ? `?${query}` : ''}#${ns}`;
    }
    case 'postgres':
      return postgresStoreUrl(ns, params);
    case 's3':
      return `${s3StoreUrl(S3_PREFIX, params)}#${ns}`;
  }
}
