import { redactStoreUrl } from '@eryx/vfs-core';
import { postgresStore } from '@eryx/vfs-postgres';
import { run } from '@eryx/vfs-run';

/*
 * Runs a WASI program (notes.component.wasm, the C program guests/src/notes.c of the eryx-vfs
 * repository) twice over a namespace of a PostgreSQL database mounted at /data. The guest calls the
 * filesystem synchronously and PostgreSQL answers asynchronously, so run() serves the store
 * through core's sync bridge: a worker with a block cache, whose buffered writes are stored when
 * the guest calls fsync or closes a file it wrote, and when the run ends.
 *
 *   pnpm start 'postgres://user:password@host:5432/db#me'     (or set DATABASE_URL)
 *
 * The #fragment names the namespace, one independent filesystem (default here: "notes-example").
 */
const given = process.argv[2] ?? process.env.DATABASE_URL;
if (!given) {
  console.error('usage: pnpm start postgres://user:password@host:5432/db#namespace (or set DATABASE_URL)');
  process.exit(2);
}
const store = given.includes('#') ? given : `${given}#notes-example`;
const component = new URL('../notes.component.wasm', import.meta.url);
console.log(`/data is ${redactStoreUrl(store)}`);

async function notes(...args: string[]): Promise<void> {
  // stores: the backend for postgres:// URLs (without it, run() imports @eryx/vfs-postgres itself).
  const mounts = { '/data': store };
  const result = await run({ component, mounts, args: ['notes', ...args], stores: [postgresStore] });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  // unstored lists files whose buffered writes were lost: only when a stuck guest had to be killed.
  if (result.status !== 'exited' || result.exitCode !== 0 || result.unstored.length > 0) {
    const how = `${result.status}, exit status ${result.exitCode}`;
    throw new Error(`notes ${args[0]}: ${how}`, { cause: result.error });
  }
}

await notes('add', `hello from process ${process.pid}`);
await notes('list');

// What the guest stored is in PostgreSQL: open the same namespace directly, as any process could.
const storage = await postgresStore.open(store);
try {
  const text = new TextDecoder().decode(await storage.read('/notes.txt'));
  const lines = text.trimEnd().split('\n');
  console.log(`PostgreSQL holds /notes.txt: ${lines.length} notes`);
} finally {
  await storage.close();
}
