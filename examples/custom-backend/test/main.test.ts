import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const exec = promisify(execFile);

it('pnpm start prints what the program does with the backend', async () => {
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
  });
  expect(stdout.split('\n')).toEqual([
    'appended at offset 9',
    'buy milk',
    'call Ada',
    'file today.txt 18 B',
    'refused: invalid-path',
    'second file over 16 bytes: quota-exceeded',
    '',
  ]);
}, 30_000);
