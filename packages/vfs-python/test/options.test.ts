import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVfsError } from '@eryx/vfs-core';
import { memory } from '@eryx/vfs-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { type PythonOptions, python, SITE_PACKAGES } from '../src/index.js';

const host = mkdtempSync(join(tmpdir(), 'vfs-python-options-'));
afterAll(() => rmSync(host, { recursive: true, force: true }));

const dec = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('python() options', () => {
  it('refuses more than one of code, module and script, and bad arguments, before running', async () => {
    const cases: PythonOptions[] = [
      { code: 'pass', module: 'json' },
      { code: 'pass', script: '/data/a.py' },
      { code: 1 as unknown as string },
      { code: 'pass', args: ['a', 2 as unknown as string] },
      { code: 'pass', pythonArgs: 'x' as unknown as string[] },
      { code: 'pass', mounts: { '/usr/local/lib': 'memory:' } },
      { code: 'pass', mounts: { '/': 'memory:' } },
    ];
    for (const options of cases) {
      const error = await python(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isVfsError(error, 'invalid-argument'), JSON.stringify(options)).toBe(true);
    }
  });

  it('runs code, a module with stdin, and a script from a mount, with sys.argv', async () => {
    const code = await python({ code: 'import sys; print(sys.argv[1:], sys.prefix)', args: ['a', 'b'] });
    expect(code).toMatchObject({ status: 'exited', exitCode: 0, stdout: "['a', 'b'] /usr/local\n" });

    const module = await python({ module: 'json.tool', args: ['--compact'], stdin: '{ "a": [1, 2] }' });
    expect(module.stdout).toBe('{"a":[1,2]}\n');

    const data = memory();
    await data.writeAt('/app.py', 0, new TextEncoder().encode('import sys\nprint("script", sys.argv)\n'));
    const script = await python({ script: '/data/app.py', args: ['x'], mounts: { '/data': data } });
    expect(script.stdout).toBe("script ['/data/app.py', 'x']\n");
  });

  it('reports an uncaught exception as exit status 1 with its traceback', async () => {
    const result = await python({ code: 'raise ValueError("boom")' });
    expect(result).toMatchObject({ status: 'exited', exitCode: 1 });
    expect(result.stderr).toContain('ValueError: boom');
    const syntax = await python({ code: 'def (' });
    expect(syntax.exitCode).toBe(1);
    expect(syntax.stderr).toContain('SyntaxError');
  });

  it('gives each execution a fresh /tmp, none with tmp: false, or the given mount', async () => {
    const write =
      'import os; open("/tmp/t", "a").write("x"); print(sorted(os.listdir("/tmp")), len(open("/tmp/t").read()))';
    expect((await python({ code: write })).stdout).toBe("['t'] 1\n");
    expect((await python({ code: write })).stdout).toBe("['t'] 1\n");
    const none = await python({ code: 'import os; print(os.path.exists("/tmp"))', tmp: false });
    expect(none.stdout).toBe('False\n');
    // The default /tmp holds 64 MiB at most: a guest cannot grow host memory through it.
    const full = await python({
      code: [
        'import errno',
        'try:',
        '    with open("/tmp/big", "wb") as f:',
        '        for _ in range(80): f.write(bytes(1 << 20))',
        'except OSError as e:',
        '    print(errno.errorcode[e.errno])',
      ].join('\n'),
    });
    expect(full).toMatchObject({ status: 'exited', exitCode: 0, stdout: 'ENOSPC\n' });
    const kept = memory();
    await python({ code: write, tmp: kept });
    expect((await python({ code: write, tmp: kept })).stdout).toBe("['t'] 2\n");
    expect(dec(await kept.read('/t'))).toBe('xx');
  });

  it('imports from a read-only site-packages mount', async () => {
    const site = join(host, 'site-packages');
    mkdirSync(join(site, 'greet'), { recursive: true });
    writeFileSync(join(site, 'greet', '__init__.py'), 'def hello(name):\n    return f"hello {name}"\n');
    const result = await python({
      code: [
        'import errno, greet, sys',
        `print(greet.hello("py"), "${SITE_PACKAGES}" in sys.path)`,
        'try:',
        `    open("${SITE_PACKAGES}/x.py", "w")`,
        'except OSError as e:',
        '    print(type(e).__name__, errno.errorcode[e.errno])',
      ].join('\n'),
      sitePackages: `host:${site}`,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hello py True\nOSError EROFS\n');
    expect(readdirSync(site).sort()).toEqual(['greet']);
  });

  it('passes interpreter options and the environment', async () => {
    const result = await python({
      code: 'import os, sys; print(sys.flags.isolated, os.environ.get("GREETING"), os.environ["PYTHONHOME"])',
      pythonArgs: ['-I'],
      env: { GREETING: 'hi' },
    });
    expect(result.stdout).toBe('1 hi /usr/local\n');
  });
});
