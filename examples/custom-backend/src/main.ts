import { isVfsError, limits } from '@eryx/vfs-core';
import { mapStorage } from './map-storage.js';

/*
 * Uses the backend of map-storage.ts like any eryx-vfs storage: the contract's operations, with
 * core's checks and errors, and core's wrappers around it.
 */
const text = (s: string) => new TextEncoder().encode(s);

const storage = mapStorage();
await storage.mkdir('/notes');
await storage.write('/notes/today.txt', text('buy milk\n'));
const offset = await storage.append('/notes/today.txt', text('call Ada\n')); // emulated by core
console.log(`appended at offset ${offset}`);
console.log(new TextDecoder().decode(await storage.read('/notes/today.txt')).trimEnd());
for (const entry of await storage.list('/notes')) console.log(`${entry.kind} ${entry.name} ${entry.size} B`);

// Core checks every argument before the backend sees it, and reports one error type.
try {
  await storage.read('/notes/../../etc/passwd');
} catch (error) {
  if (!isVfsError(error)) throw error;
  console.log(`refused: ${error.code}`);
}

// Wrappers implement the same contract, so they compose with any backend.
const small = limits(mapStorage(), { maxBytes: 16 });
await small.write('/a', text('0123456789'));
try {
  await small.write('/b', text('0123456789'));
} catch (error) {
  if (!isVfsError(error, 'quota-exceeded')) throw error;
  console.log(`second file over 16 bytes: ${error.code}`);
}
