// One writer of the concurrency tests: runs the notes guest once per entry of `runs` (its
// arguments), each a fresh instance over a fresh SQLite connection to the shared database, and
// reports the stdout of each run and the stderr of each failed one.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createWasiHost, WasiExit } from '@eryx/vfs-core/wasi';
import { sqlite } from '@eryx/vfs-sqlite';

const { path, namespace, runs } = workerData;
const dist = new URL('../dist/notes/', import.meta.url);
const { instantiate } = await import(new URL('notes.js', dist).href);
const modules = new Map();
const getCoreModule = async (file) => {
  if (!modules.has(file)) modules.set(file, await WebAssembly.compile(await readFile(new URL(file, dist))));
  return modules.get(file);
};

const failures = [];
const outputs = [];
for (const args of runs) {
  const storage = sqlite({ path, namespace, busyTimeout: 30_000 });
  const host = createWasiHost({ mounts: { '/data': storage }, args: ['notes', ...args] });
  try {
    const component = await instantiate(getCoreModule, host.imports);
    component.run.run();
  } catch (error) {
    if (!(error instanceof WasiExit)) throw error;
    failures.push(host.stderr.text());
  } finally {
    host.close();
    await storage.close();
  }
  outputs.push(host.stdout.text());
}
parentPort.postMessage({ failures, outputs });
