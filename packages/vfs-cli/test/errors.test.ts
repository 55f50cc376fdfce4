import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '@eryx/test-servers';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, storeUrl, tempDir } from './helpers.js';

/** Every error is one line: `eryx-vfs: <command>: [<path>: ]<what happened> — <what to do>`. */
const ONE_LINE = /^eryx-vfs: [^\n]+ — [^\n]+\n$/;

describe('usage errors exit 2', () => {
  it.each([
    [[], /Usage:/],
    [['frobnicate'], /^eryx-vfs: unknown command "frobnicate" — see eryx-vfs --help/],
    [['ls', '--bogus', 'memory:'], /^eryx-vfs: ls: unknown option --bogus — see eryx-vfs ls --help\n$/],
    [['ls', '/'], /^eryx-vfs: ls: no store given — name a store URL first .* or set ERYX_VFS_STORE\n$/],
    [['ls', 'foo:bar', '/'], /^eryx-vfs: ls: store URL "foo:bar": unknown scheme "foo:"/],
    [['ls', 'sqlite:./x.db?maxbytes=1', '/'], /unknown parameter "maxbytes" \(did you mean "maxBytes"\?\)/],
    [['ls', 'memory:', '/a/../..'], /^eryx-vfs: ls: \/a\/\.\.\/\.\.: path escapes the root/],
    [['stat', 'memory:'], /^eryx-vfs: stat: missing path — see eryx-vfs stat --help\n$/],
    [['stat', 'memory:', '/a', '/b'], /^eryx-vfs: stat: unexpected argument "\/b"/],
    [['cp', 'a', 'b'], /^eryx-vfs: cp: neither operand is in a store — mark the store side with --from/],
    [['cp', '--to'], /^eryx-vfs: cp: Option '--to <value>' argument missing/],
    [['gc', '--min-age', 'soon', 'memory:'], /--min-age soon is not a duration/],
  ])('%j', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    if (args.length > 0) expect(result.stderr).toMatch(ONE_LINE);
  });
});

describe('exit codes and error lines', () => {
  let dir: string;
  let url: string;
  const run = (...args: string[]) => cli(args, { cwd: dir });

  beforeAll(async () => {
    dir = await tempDir();
    url = storeUrl('sqlite');
    await writeFile(join(dir, 'f.txt'), 'twelve bytes');
    expect((await run('cp', '--to', url, 'f.txt', '/f.txt')).code).toBe(0);
  });

  it('not found: 3, naming the path', async () => {
    const result = await run('cat', url, '/missing.txt');
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'eryx-vfs: cat: /missing.txt: no such file or directory — check the path (eryx-vfs ls <store> <dir> shows what is there)\n',
    );
    const host = await run('cp', '--to', url, 'nope.txt', '/x');
    expect(host.code).toBe(3);
    expect(host.stderr).toMatch(ONE_LINE);
  });

  it('a missing SQLite file is not found, and is not created by commands that read', async () => {
    for (const command of [
      ['ls'],
      ['tree'],
      ['du'],
      ['export'],
      ['namespaces'],
      ['cat', 'sqlite:./missing.db', '/f'],
    ]) {
      const args = command.length > 1 ? command : [...command, 'sqlite:./missing.db#ns'];
      const result = await run(...args);
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr).toMatch(
        /missing\.db: .*— check the file in the store URL|missing\.db: .*does not exist/,
      );
    }
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
  });

  it('refused by the store state: 1', async () => {
    expect((await run('mkdir', url, '/f.txt')).code).toBe(1);
    const result = await run('cat', url, '/');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^eryx-vfs: cat: \/: is a directory — /);
    expect((await run('rm', '-r', url, '/')).stderr).toMatch(
      /the root cannot be removed — use eryx-vfs drop/,
    );
  });

  it('storage failures: 4 (quota, read-only, unreachable server), the password never printed', async () => {
    const quota = await run('cp', '--to', 'sqlite:./q.db?maxBytes=10#q', 'f.txt', '/f.txt');
    expect(quota.code).toBe(4);
    expect(quota.stderr).toMatch(
      /^eryx-vfs: cp: \/f\.txt: .*limit is 10 — .*raise the limit in the store URL/,
    );
    expect(quota.stderr).toMatch(ONE_LINE);

    const readOnly = await run('mkdir', `${url.replace('#', '?readOnly=true#')}`, '/new');
    expect(readOnly.code).toBe(4);
    expect(readOnly.stderr).toMatch(ONE_LINE);

    const port = await freePort();
    const closed = await run('ls', `postgres://vfs:hunter2@127.0.0.1:${port}/db#ns`, '/');
    expect(closed.code).toBe(4);
    expect(closed.stderr).toMatch(ONE_LINE);
    expect(closed.stderr).toContain(String(port));
    expect(closed.stderr).not.toContain('hunter2');
    const s3 = await run(
      'ls',
      `s3://bucket/p?endpoint=http://127.0.0.1:${port}&region=us-east-1&accessKeyId=k&secretAccessKey=hunter2#ns`,
      '/',
    );
    expect(s3.code).toBe(4);
    expect(s3.stderr).not.toContain('hunter2');
    // No stack trace without --verbose; with it, the stack follows the error line.
    expect(closed.stderr).not.toMatch(/\n\s+at /);
    const verbose = await run('ls', '--verbose', `postgres://vfs:hunter2@127.0.0.1:${port}/db#ns`, '/');
    expect(verbose.stderr).toMatch(/\n\s+at /);
    expect(verbose.stderr).not.toContain('hunter2');
  });

  it('--verbose logs every storage call with its time and outcome', async () => {
    const result = await run('--verbose', 'cat', url, '/f.txt', '/nope');
    expect(result.code).toBe(3);
    const lines = result.stderr.trim().split('\n');
    const label = url.replace(/\?[^#]*/, '');
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`^eryx-vfs: ${escapeRegExp(label)}: readAt /f\\.txt [\\d.]+ ms ok 12 B$`),
      ),
      expect.stringMatching(
        new RegExp(`^eryx-vfs: ${escapeRegExp(label)}: readAt /nope [\\d.]+ ms not-found$`),
      ),
      'eryx-vfs: cat: /nope: no such file or directory — check the path (eryx-vfs ls <store> <dir> shows what is there)',
      expect.stringMatching(/^VfsError: not-found/),
      ...lines.slice(4).map(() => expect.stringMatching(/^\s+at /)),
    ]);
    expect((await run('ls', '--verbose', url, '/')).stderr).toMatch(
      /: stat \/ [\d.]+ ms ok\n.*: list \/ [\d.]+ ms ok\n$/,
    );
  });

  it('$ERYX_VFS_STORE names the store when the first argument is a path', async () => {
    const result = await cli(['cat', '/f.txt'], { cwd: dir, env: { ERYX_VFS_STORE: url } });
    expect(result).toMatchObject({ code: 0, stdout: 'twelve bytes' });
  });
});

describe('help and version', () => {
  it('--help, <command> --help, help <command>, --version', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(
      /Exit codes: 0 ok; 1 refused .* 2 usage\s+error .* 3 not found; 4 storage failure/s,
    );
    for (const name of [
      'ls',
      'tree',
      'cat',
      'stat',
      'du',
      'cp',
      'mv',
      'rm',
      'mkdir',
      'export',
      'import',
      'namespaces',
      'migrate',
      'gc',
      'drop',
    ]) {
      expect(top.stdout).toMatch(new RegExp(`\\n  ${name} +\\S`));
      const help = await cli([name, '--help']);
      expect(help.code, name).toBe(0);
      expect(help.stdout).toContain(`Usage:\n  eryx-vfs ${name} `);
    }
    expect((await cli(['help', 'cp'])).stdout).toContain('--from <store-url>');
    const version = await cli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
