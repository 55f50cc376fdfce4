import { fileURLToPath } from 'node:url';
import { restrictedFiles } from '@eryx/vfs-core';
import { type RunMount, run } from '@eryx/vfs-run';
import { demoStore } from './backend.js';

/*
 * Runs a real WASI guest (guests/src/notes.c, a C program compiled to a component) twice with
 * `run` from @eryx/vfs-run, each time as a fresh component instance in a worker thread over a
 * freshly opened store: the first execution adds a note, the second lists every note. What the
 * first one wrote is there in the second because the backend kept it (and it is still there the
 * next time you run the demo).
 *
 * Beside /data, each execution sees one host file, read-only: demo.conf at /config/demo.conf (a
 * restricted mount, a storage object served to the guest's worker). The last step shows the
 * guest's whole tree and that config file.
 *
 * `run` transpiles each component with jco (`--import-bindings hybrid`) once, into its cache
 * (~/.cache/eryx-vfs by default), and reuses it afterwards.
 */

const guest = (name: string) =>
  fileURLToPath(new URL(`../../guests/fixtures/${name}.component.wasm`, import.meta.url));

const config = restrictedFiles(
  { 'demo.conf': fileURLToPath(new URL('../demo.conf', import.meta.url)) },
  { readOnly: true },
);
const store = demoStore();
const mounts: Record<string, RunMount> = { '/data': store.url, '/config': config };

function print(stream: string, text: string): void {
  if (text) for (const line of text.trimEnd().split('\n')) console.log(`   guest ${stream} | ${line}`);
}

async function execute(label: string, args: string[]): Promise<string> {
  console.log(`\n== ${label}: notes ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  console.log(`   /data is ${store.description}`);
  const result = await run({ component: guest('notes'), mounts, args: ['notes', ...args], timeout: 60_000 });
  print('stdout', result.stdout);
  print('stderr', result.stderr);
  console.log(`   ${result.status}, exit status ${result.exitCode}, ${result.durationMs.toFixed(0)} ms`);
  if (result.status !== 'exited' || result.exitCode !== 0) process.exitCode = 1;
  return result.stdout;
}

const note = `hello from ${new Date().toISOString()}`;
await execute('execution 1 writes', ['add', note]);
const listed = await execute('execution 2 reads what execution 1 wrote', ['list']);
if (listed.includes(note)) {
  console.log(`\nExecution 2 read back the note execution 1 wrote: "${note}".`);
} else {
  console.error(`\nExecution 2 did not find the note execution 1 wrote ("${note}").`);
  process.exitCode = 1;
}

// The guest's view of the tree: / lists the mount points; /config holds only the one host file.
for (const args of [
  ['ls', '/'],
  ['ls', '/config'],
  ['cat', '/config/demo.conf'],
]) {
  const result = await run({
    component: guest('escape'),
    mounts,
    args: ['escape', ...args],
    timeout: 60_000,
  });
  console.log(`\n== guests/src/escape.c: escape ${args.join(' ')}`);
  print('stdout', result.stdout);
  if (result.status !== 'exited' || result.exitCode !== 0) process.exitCode = 1;
}
