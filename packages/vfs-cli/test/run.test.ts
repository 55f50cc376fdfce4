import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, BIN, cli, storeUrl, tempDir } from './helpers.js';

const guest = (name: string) =>
  fileURLToPath(new URL(`../../../guests/fixtures/${name}.component.wasm`, import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.wasm`, import.meta.url));
const NOTES = guest('notes');
const BENCH = guest('bench');

let dir: string;
let cacheDir: string;
/** `eryx-vfs run` with one transpile cache for the whole file. */
const run = (args: string[], input?: string) =>
  cli(['run', '--cache-dir', cacheDir, ...args], { cwd: dir, ...(input !== undefined && { input }) });

beforeAll(async () => {
  dir = await tempDir();
  cacheDir = join(dir, 'cache');
});

describe.each(BACKENDS)('run over a %s mount', (backend) => {
  it('files persist across runs (processes), and the store commands see them', async () => {
    const url = storeUrl(backend);
    const first = await run(['--mount', `/data=${url}`, NOTES, '--', 'add', 'one']);
    expect(first).toMatchObject({ code: 0, stdout: 'run 1: added "one"\n', stderr: '' });
    expect((await run(['--mount', `/data=${url}`, NOTES, '--', 'add', 'two'])).code).toBe(0);
    const list = await run(['--mount', `/data=${url}`, NOTES, '--', 'list']);
    expect(list).toMatchObject({ code: 0, stdout: 'runs so far: 2\n  1: one\n  2: two\n' });
    expect((await cli(['cat', url, '/notes.txt'], { cwd: dir })).stdout).toBe('1: one\n2: two\n');
  });
});

describe('run', () => {
  it('passes stdin through, and a host directory read-only with host:<dir>:ro', async () => {
    const url = storeUrl('sqlite');
    const imported = await run(['--mount', `/data=${url}`, NOTES, '--', 'import'], 'first\nsecond\n');
    expect(imported).toMatchObject({ code: 0, stdout: 'run 1: imported 2 notes\n' });
    await mkdir(join(dir, 'conf'), { recursive: true });
    await writeFile(join(dir, 'conf/notes.txt'), '1: from the host\n');
    await writeFile(join(dir, 'conf/runs'), '5\n');
    const listed = await run(['--mount', '/data=host:./conf:ro', NOTES, '--', 'list']);
    expect(listed).toMatchObject({ code: 0, stdout: 'runs so far: 5\n  1: from the host\n' });
    const refused = await run(['--mount', '/data=host:./conf:ro', NOTES, '--', 'add', 'x']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/notes\.txt/);
  });

  it('passes the arguments after -- (argv[0] is the file name) and only the --env variables', async () => {
    const result = await cli(
      [
        'run',
        '--cache-dir',
        cacheDir,
        '--env',
        'K=V',
        '--env',
        'FROM_CALLER',
        fixture('echo-env'),
        '--',
        'a',
        '-b c',
      ],
      {
        cwd: dir,
        env: { FROM_CALLER: 'yes', NOT_PASSED: 'no' },
      },
    );
    expect(result.stdout).toBe('echo-env\0a\0-b c\0K=V\0FROM_CALLER=yes\0');
    // The program exits with 7; jco's preview1 adapter reports every non-zero status as 1.
    expect(result.code).toBe(1);
  });

  it('--timeout stops the program: exit 124 and a line saying so', async () => {
    const result = await run([
      '--timeout',
      '1s',
      '--mount',
      '/data=memory:',
      BENCH,
      '--',
      'dir=/data/b',
      'seq=4096',
      'rand=1000000000',
      'randfile=65536',
    ]);
    expect(result.code).toBe(124);
    expect(result.stderr).toMatch(
      /^eryx-vfs: run: .*bench\.component\.wasm: stopped after 1s — raise --timeout/m,
    );
  });

  it('reports the writes a terminated program could not store', async () => {
    const url = storeUrl('postgres');
    const result = await run(['--timeout', '500ms', '--mount', `/data=${url}`, fixture('write-spin')]);
    expect(result.code).toBe(124);
    expect(result.stderr).toMatch(
      /^eryx-vfs: run: \/data\/out\.txt: at least 13 B written by the program were not stored/m,
    );
  });

  it('Ctrl-C (SIGINT) stops the program: exit 130', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'run',
        '--cache-dir',
        cacheDir,
        '--mount',
        '/data=memory:',
        BENCH,
        '--',
        'dir=/data/b',
        'seq=4096',
        'rand=1000000000',
        'randfile=65536',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Interrupt once the program is running (it prints its phases).
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/: interrupted\n$/);
  });

  it('--verbose logs the storage calls of the program', async () => {
    const url = storeUrl('sqlite');
    const result = await run(['--verbose', '--mount', `/data=${url}`, NOTES, '--', 'add', 'traced']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^eryx-vfs: sqlite:.*: (append|writeAt|write) \/notes\.txt [\d.]+ ms ok \d+ B$/m,
    );
  });

  it('errors: missing program 3, bad --mount / --timeout / no program 2', async () => {
    const missing = await run(['nope.wasm']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^eryx-vfs: run: .*nope\.wasm.* — /);
    for (const args of [
      ['--mount', 'data=memory:', NOTES],
      ['--mount', '/data=./dir', NOTES],
      ['--timeout', 'soon', NOTES],
      [],
    ]) {
      const result = await run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^eryx-vfs: run: [^\n]+ — [^\n]+\n$/);
    }
  });
});
