import { run } from '@eryx/vfs-run';
import { sqliteStore } from '@eryx/vfs-sqlite';

/*
 * Runs a WASI program (notes.component.wasm, the C program guests/src/notes.c of the eryx-vfs
 * repository) twice, each time as a fresh instance in a worker thread, with /data mounted from a
 * SQLite store. The first run adds a note to /data/notes.txt, the second lists the notes: it finds
 * the first one because the store kept it. Then this program reads the same file from the store.
 *
 *   pnpm start ['sqlite:./notes.db#me']     the store URL: a SQLite file and a namespace in it
 */
const store = process.argv[2] ?? 'sqlite:./notes.db#me';
const component = new URL('../notes.component.wasm', import.meta.url);

async function notes(...args: string[]): Promise<void> {
  const mounts = { '/data': store };
  const result = await run({ component, mounts, args: ['notes', ...args], timeout: 30_000 });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  if (result.status !== 'exited' || result.exitCode !== 0) {
    const how = `${result.status}, exit status ${result.exitCode}`;
    throw new Error(`notes ${args[0]}: ${how}`, { cause: result.error });
  }
}

await notes('add', `hello from process ${process.pid}`);
await notes('list');

// The guest's /data/notes.txt is /notes.txt of the store: any program can open it by its URL.
const storage = await sqliteStore.open(store);
try {
  const text = new TextDecoder().decode(await storage.read('/notes.txt'));
  const lines = text.trimEnd().split('\n');
  console.log(`${store} holds /notes.txt: ${lines.length} notes`);
} finally {
  await storage.close();
}
