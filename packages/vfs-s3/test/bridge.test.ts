import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { expect, it } from 'vitest';
import { s3 } from '../src/index.js';
import { randomPrefix, serverOptions } from './helpers.js';

// The built package, as the WASI host's sync bridge loads it in its worker (plain options only).
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

it('serves synchronous callers through the sync bridge, built in a worker from plain options', async () => {
  expect(existsSync(built), 'build the package first (pnpm build)').toBe(true);
  const options = { ...serverOptions(), prefix: randomPrefix('bridge') };
  const bridge = createSyncBridge({ module: built, export: 'openS3', options });
  try {
    bridge.mkdir('/d');
    bridge.write('/d/f', new TextEncoder().encode('hello'));
    bridge.writeAt('/d/f', 5, new TextEncoder().encode(' world'));
    expect(new TextDecoder().decode(bridge.read('/d/f'))).toBe('hello world');
    expect(bridge.append('/d/f', new TextEncoder().encode('!'))).toBe(11);
    bridge.flush();
    expect(bridge.list('/d')).toEqual([{ name: 'f', kind: 'file', size: 12 }]);
    expect(() => bridge.rmdir('/d')).toThrow(expect.objectContaining({ code: 'directory-not-empty' }));
  } finally {
    bridge.close();
  }
  const direct = s3(options);
  expect(new TextDecoder().decode(await direct.read('/d/f'))).toBe('hello world!');
  await direct.close();
});

it('rejects unknown and malformed options instead of ignoring them', () => {
  const base = serverOptions();
  for (const bad of [
    { ...base, volume: 'x' },
    { ...base, bucket: '' },
    { ...base, chunkSize: 0 },
    { ...base, inlineThreshold: 1.5 },
    { ...base, conditionalWrites: 'yes' },
  ]) {
    expect(() => s3(bad as never)).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
  }
});
