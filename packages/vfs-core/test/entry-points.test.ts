import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureDist } from './build-dist.js';

// The entry points as a user loads them: the built files, in a fresh Node process each.
ensureDist();
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

function node(type: 'commonjs' | 'module', code: string): string {
  const flag = type === 'commonjs' ? '--input-type=commonjs' : '--input-type=module';
  return execFileSync(process.execPath, [flag, '-e', code], {
    cwd: dist,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

describe('entry points', () => {
  it('each loads with require() from CommonJS', () => {
    const out = node(
      'commonjs',
      `const core = require('./index.js');
const wasi = require('./wasi/index.js');
const bridge = require('./bridge/index.js');
const host = wasi.createWasiHost({ mounts: {} });
host.close();
console.log(typeof core.VfsError, typeof core.hostDirectory, Object.keys(wasi).sort().join(), Object.keys(bridge).sort().join());`,
    );
    expect(out).toBe(
      'function function ORPHANS_DIRECTORY,WasiExit,createWasiHost,sweepOrphans connectSyncBridge,createSyncBridge,serveStorage',
    );
  });

  it('the main entry holds neither the WASI host nor the bridge', async () => {
    const core = await import(new URL('../dist/index.js', import.meta.url).href);
    expect(Object.keys(core)).not.toContain('createWasiHost');
    expect(Object.keys(core)).not.toContain('createSyncBridge');
  });

  it('importing the WASI host patches nothing: the lowerings are offered by the first host', () => {
    const out = node(
      'module',
      `const { createWasiHost } = await import('./wasi/index.js');
const { Descriptor } = await import('./wasi/filesystem.js');
const offered = () => Symbol.for('cabiLower') in Descriptor.prototype.openAt;
const rep = () => Symbol.for('cabiRep') in Descriptor.prototype;
const before = [offered(), rep()];
createWasiHost({ mounts: {} }).close();
console.log(JSON.stringify([before, [offered(), rep()]]));`,
    );
    // The reps come only with the first lowering jco requests.
    expect(JSON.parse(out)).toEqual([
      [false, false],
      [true, false],
    ]);
  });
});
