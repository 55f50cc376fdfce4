import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../src/pool.js';
import { fixture } from './helpers.js';

describe('the guest worker under `node --input-type=module -e`', () => {
  it('drops the main script options a worker refuses, keeps the rest', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--no-warnings'])).toEqual(['--no-warnings']);
    expect(workerExecArgv(['--input-type', 'module', '--eval', 'x', '--import', 'tsx'])).toEqual([
      '--import',
      'tsx',
    ]);
    expect(workerExecArgv(['-p', '1', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
  });

  it('runs a guest from an inline ES module', async () => {
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const code = `import { run } from ${JSON.stringify(dist)};
const r = await run({ component: ${JSON.stringify(fixture('notes'))}, mounts: { '/data': 'memory:' }, args: ['notes', 'list'] });
console.log(r.status, r.exitCode);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code]);
    expect(stdout).toBe('exited 0\n');
    // Options Node allows for the process only (--expose-gc) are not passed on either.
    const gc = await promisify(execFile)(process.execPath, [
      '--expose-gc',
      '--input-type=module',
      '-e',
      code,
    ]);
    expect(gc.stdout).toBe('exited 0\n');
  });
});
