import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, cli, storeUrl, tempDir } from './helpers.js';

let dir: string;
/** `eryx-vfs python` in the test's directory (the default transpile cache: CPython is large). */
const python = (args: string[], input?: string) =>
  cli(['python', ...args], { cwd: dir, ...(input !== undefined && { input }) });

const NOTES = [
  'import sqlite3, sys',
  'with open("/data/notes.txt", "a") as f: f.write(sys.argv[1] + "\\n")',
  'db = sqlite3.connect("/data/app.db")',
  'db.execute("CREATE TABLE IF NOT EXISTS t (note TEXT)")',
  'with db: db.execute("INSERT INTO t VALUES (?)", (sys.argv[1],))',
  'print(db.execute("SELECT count(*) FROM t").fetchone()[0], db.execute("PRAGMA integrity_check").fetchone()[0])',
].join('\n');

beforeAll(async () => {
  dir = await tempDir();
  await writeFile(join(dir, 'notes.py'), NOTES);
});

describe.each(BACKENDS)('python over a %s mount', (backend) => {
  it('a host script keeps a notes file and a sqlite3 database across processes', async () => {
    const url = storeUrl(backend);
    const first = await python(['--mount', `/data=${url}`, 'notes.py', 'one']);
    expect(first).toMatchObject({ code: 0, stdout: '1 ok\n', stderr: '' });
    const second = await python(['--mount', `/data=${url}`, 'notes.py', '--', 'two']);
    expect(second).toMatchObject({ code: 0, stdout: '2 ok\n' });
    expect((await cli(['cat', url, '/notes.txt'], { cwd: dir })).stdout).toBe('one\ntwo\n');
  });
});

describe('python', () => {
  it('runs -c and -m with stdin, and a script inside a mount', async () => {
    const code = await python(['-c', 'import sys; print(sys.argv)', '--', '-x', 'y']);
    expect(code).toMatchObject({ code: 0, stdout: "['-c', '-x', 'y']\n" });
    const module = await python(['-m', 'json.tool', '--', '--compact'], '{ "a": [1, 2] }');
    expect(module).toMatchObject({ code: 0, stdout: '{"a":[1,2]}\n' });
    const url = storeUrl('sqlite');
    await cli(['cp', '--to', url, 'notes.py', '/app.py'], { cwd: dir });
    const inside = await python(['--mount', `/data=${url}`, '/data/app.py', 'three']);
    expect(inside).toMatchObject({ code: 0, stdout: '1 ok\n' });
  });

  it('shows the host script alone, read-only, and nothing else of the host', async () => {
    const probe = [
      'import os',
      'print(os.listdir("/app"), os.path.exists("/data"))',
      'try:',
      '    open("/app/new.py", "w")',
      'except OSError as e:',
      '    print(type(e).__name__)',
    ].join('\n');
    await writeFile(join(dir, 'probe.py'), probe);
    const result = await python(['probe.py']);
    expect(result).toMatchObject({ code: 0, stdout: "['probe.py'] False\nOSError\n" });
    expect((await readdir(dir)).includes('new.py')).toBe(false);
  });

  it('exits with Python status, 124 on timeout, and tells usage and not-found errors apart', async () => {
    // WASI 0.2's exit carries success or failure only: any non-zero status becomes 1.
    expect((await python(['-c', 'raise SystemExit(0)'])).code).toBe(0);
    expect((await python(['-c', 'raise SystemExit(7)'])).code).toBe(1);
    const failed = await python(['-c', 'raise ValueError("boom")']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('ValueError: boom');
    const stopped = await python(['--timeout', '1s', '-c', 'while True: pass']);
    expect(stopped.code).toBe(124);
    expect(stopped.stderr).toContain('stopped after 1s');
    expect((await python(['missing.py'])).code).toBe(3);
    expect((await python(['-c', 'pass', '-m', 'json'])).code).toBe(2);
    expect((await python([])).code).toBe(2);
  });

  it('imports from --site-packages, mounted read-only', async () => {
    await writeFile(join(dir, 'greet.py'), 'def hello():\n    return "hello"\n');
    const result = await python([
      '--site-packages',
      `host:${dir}`,
      '-c',
      'import greet; print(greet.hello())',
    ]);
    expect(result).toMatchObject({ code: 0, stdout: 'hello\n' });
  });
});
