import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// A test run that fails sets process.exitCode and lets the process end by itself. The embedded
// server's exit hook used to turn that into exit 0, so CI passed with failing tests.
it('keeps the exit code of a process that started and stopped the embedded PostgreSQL', () => {
  const index = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const script = `
    const { startPostgres } = await import(${JSON.stringify(index)});
    const server = await startPostgres();
    if (server.kind !== 'embedded') throw new Error('expected the embedded server, got ' + server.kind);
    await server.stop();
    process.exitCode = 3;`;
  const env = { ...process.env };
  delete env.VFS_POSTGRES_URL;
  env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(3);
}, 120_000);
