// One writer of the concurrent-append test: runs the notes guest `count` times, each a fresh
// instance over a fresh SQLite connection to the shared database, adding notes tagged `tag`.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createWasiHost, WasiExit } from '@eryx/vfs-core';
import { sqlite } from '@eryx/vfs-sqlite';

const { path, namespace, count, tag } = workerData;
const dist = new URL('../dist/notes/', import.meta.url);
const { instantiate } = await import(new URL('notes.js', dist).href);
const modules = new Map();
const getCoreModule = async (file) => {
  if (!modules.has(file)) modules.set(file, await WebAssembly.compile(await readFile(new URL(file, dist))));
  return modules.get(file);
};

const failures = [];
for (let i = 0; i < count; i++) {
  const storage = sqlite({ path, namespace, busyTimeout: 30_000 });
  const host = createWasiHost({ mounts: { '/data': storage }, args: ['notes', 'add', `${tag} ${i}`] });
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
}
parentPort.postMessage({ failures });
