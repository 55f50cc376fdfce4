import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { expect, it } from 'vitest';
import { postgres } from '../src/index.js';

// The built package, as the WASI host's sync bridge loads it in its worker (plain options only).
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

it('serves guests through the sync bridge, built in a worker from plain options', async () => {
  expect(existsSync(built), 'build the package first (pnpm build)').toBe(true);
  const namespace = `bridge-${randomUUID()}`;
  const options = { connectionString: process.env.VFS_POSTGRES_URL, namespace };
  const bridge = createSyncBridge({ module: built, export: 'postgres', options });
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
  const direct = postgres(options);
  expect(new TextDecoder().decode(await direct.read('/d/f'))).toBe('hello world!');
  await direct.destroy();
});

it('rejects unknown options instead of ignoring them', () => {
  expect(() => postgres({ connectionString: process.env.VFS_POSTGRES_URL, volume: 'x' } as never)).toThrow(
    expect.objectContaining({ code: 'invalid-argument' }),
  );
});
