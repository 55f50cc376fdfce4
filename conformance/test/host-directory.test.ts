import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostDirectoryStorage, hostDirectory, toAsync } from '@eryx/vfs-core';
import { afterAll } from 'vitest';
import { runConformance } from '../src/index.js';

// The router's host-directory storage (@eryx/vfs-core) implements the whole contract over node:fs:
// each test gets a fresh temporary directory.
const temp = mkdtempSync(join(tmpdir(), 'eryx-host-dir-'));
let n = 0;
afterAll(() => rmSync(temp, { recursive: true, force: true }));

runConformance({
  name: 'host directory',
  create: () => {
    const dir = mkdtempSync(join(temp, `${n++}-`));
    return toAsync(hostDirectory(dir));
  },
  // A second storage on the same host directory, as another process would mount it.
  reopen: (storage) => toAsync(hostDirectory((storage.sync as HostDirectoryStorage).root)),
  // Times are what the host's file system and Node's fs.utimes (seconds as a double) keep: not a
  // double of milliseconds exactly, so the kit's time checks do not apply (core tests what it can).
  skip: ['times'],
});
