import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { memory } from '@eryx/vfs-memory';
import type { RunMount, RunResult } from '@eryx/vfs-run';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRY, ensureDist, fixture, fixtureText, python, URL_STORES } from './helpers.js';

/*
 * The guest's files persist in every backend: a memory() storage object (read from the host
 * afterwards), and SQLite, PostgreSQL and S3 store URLs (the last two through the sync bridge),
 * across executions and across processes, including a database of Python's own sqlite3.
 */

const NOTES = fixtureText('notes.py');
const SQLITE_ROWS = fixtureText('sqlite_rows.py');
const LONG_NAMES = fixtureText('long_names.py');
const notes = (mount: RunMount, note: string) =>
  python({ code: NOTES, args: [note], mounts: { '/data': mount }, timeout: 60_000 });
const rows = (mount: RunMount, run: string, count: number) =>
  python({ code: SQLITE_ROWS, args: [run, String(count)], mounts: { '/data': mount }, timeout: 60_000 });

function expectExited(result: RunResult): void {
  expect(result, result.stderr).toMatchObject({ status: 'exited', exitCode: 0, stderr: '', unstored: [] });
}

const LONG_NAMES_OUTPUT = 'gggggggggggg...(255) = two\ntarget.txt = one\nhhhhhhhhhhhh...(269) = three\n';

/** long_names.py: renames of 255-byte names, then what the next execution finds. */
async function expectLongNamesKept(mount: RunMount): Promise<void> {
  for (const phase of ['write', 'check']) {
    const result = await python({
      code: LONG_NAMES,
      args: [phase],
      mounts: { '/data': mount },
      timeout: 60_000,
    });
    expectExited(result);
    expect(result.stdout, phase).toBe(LONG_NAMES_OUTPUT);
  }
}

/**
 * What sqlite_rows.py prints after the given runs, computed here: SQLite gives a new row the
 * largest id plus one, and each run deletes its own rows whose id is a multiple of 7.
 */
function expectedRows(runs: Array<[string, number]>): string {
  let table: Array<{ id: number; run: string; payload: Buffer }> = [];
  for (const [run, count] of runs) {
    for (let i = 0; i < count; i++) {
      const id = Math.max(0, ...table.map((row) => row.id)) + 1;
      const payload = Buffer.concat(Array(16).fill(createHash('sha512').update(`${run}-${i}`).digest()));
      table.push({ id, run, payload });
    }
    table = table.filter((row) => !(row.id % 7 === 0 && row.run === run));
  }
  const digest = createHash('sha256');
  for (const row of table) digest.update(row.payload);
  const names = [...new Set(table.map((row) => row.run))].sort();
  return [
    'integrity: ok',
    `rows: ${table.length}`,
    `runs: [${names.map((n) => `'${n}'`).join(', ')}]`,
    `digest: ${digest.digest('hex').slice(0, 16)}`,
    '',
  ].join('\n');
}

describe('a memory() storage object mounted at /data', () => {
  it('keeps what one execution wrote for the next, readable from the host afterwards', async () => {
    const storage = memory();
    expectExited(await notes(storage, 'first'));
    const second = await notes(storage, 'second ✓');
    expectExited(second);
    expect(second.stdout).toBe('1: first\n2: second ✓\n');
    expect(new TextDecoder().decode(await storage.read('/notes.txt'))).toBe('first\nsecond ✓\n');
  });

  it("keeps Python's sqlite3 database intact across executions", async () => {
    const storage = memory();
    const first = await rows(storage, 'a', 60);
    expectExited(first);
    expect(first.stdout).toBe(expectedRows([['a', 60]]));
    const second = await rows(storage, 'b', 90);
    expectExited(second);
    expect(second.stdout).toBe(
      expectedRows([
        ['a', 60],
        ['b', 90],
      ]),
    );
    // The database file is really in the storage object: its header, and no leftover journal.
    const header = await storage.readAt('/app.db', 0, 16);
    expect(new TextDecoder().decode(header)).toBe('SQLite format 3\0');
    expect((await storage.list('/')).map((entry) => entry.name).sort()).toEqual(['app.db']);
  });

  it('keeps files and directories renamed from and to 255-byte names', async () => {
    await expectLongNamesKept(memory());
  });
});

const execFileAsync = promisify(execFile);

/** python() in a child `node` process over the same mounts; its parsed result. */
async function inChild(options: Record<string, unknown>): Promise<RunResult & { pid: number }> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [fixture('child-run.mjs'), DIST_ENTRY, JSON.stringify(options)],
    { env: process.env, maxBuffer: 16 << 20, timeout: 120_000 },
  );
  return JSON.parse(stdout);
}

describe.each(URL_STORES)('a $name store URL mounted at /data', (store) => {
  it('keeps what one execution wrote for the next', async () => {
    const url = store.url();
    try {
      expectExited(await notes(url, 'first'));
      const second = await notes(url, 'second');
      expectExited(second);
      expect(second.stdout).toBe('1: first\n2: second\n');
    } finally {
      await store.drop(url);
    }
  });

  it('keeps files and directories renamed from and to 255-byte names', async () => {
    const url = store.url();
    try {
      await expectLongNamesKept(url);
    } finally {
      await store.drop(url);
    }
  });

  it('keeps what another process wrote', async () => {
    ensureDist();
    const url = store.url();
    try {
      expectExited(await notes(url, `from test process ${process.pid}`));
      const child = await inChild({ code: NOTES, args: ['from child'], mounts: { '/data': url } });
      expect(child.pid).not.toBe(process.pid);
      expectExited(child);
      const back = await notes(url, 'back here');
      expectExited(back);
      expect(back.stdout).toBe(`1: from test process ${process.pid}\n2: from child\n3: back here\n`);
    } finally {
      await store.drop(url);
    }
  });

  it("keeps Python's sqlite3 database intact across executions and processes", async () => {
    ensureDist();
    const url = store.url();
    try {
      const first = await rows(url, 'a', 50);
      expectExited(first);
      expect(first.stdout).toBe(expectedRows([['a', 50]]));
      const child = await inChild({ code: SQLITE_ROWS, args: ['b', '70'], mounts: { '/data': url } });
      expectExited(child);
      const third = await rows(url, 'c', 30);
      expectExited(third);
      expect(third.stdout).toBe(
        expectedRows([
          ['a', 50],
          ['b', 70],
          ['c', 30],
        ]),
      );
    } finally {
      await store.drop(url);
    }
  });
});
