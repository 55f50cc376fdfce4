import { fileURLToPath } from 'node:url';
import { runGuest } from '@eryx/test-guests/run';
import { restrictedFiles } from '@eryx/vfs-core';
import { openDemoStorage } from './backend.js';

/*
 * Runs a real WASI guest (guests/src/notes.c, a C program compiled to a component) twice, each time
 * as a fresh component instance over a fresh storage object: the first execution adds a note, the
 * second lists every note. What the first one wrote is there in the second because the backend
 * kept it (and it is still there the next time you run the demo).
 *
 * Beside /data, each execution sees one host file, read-only: demo.conf at /config/demo.conf (a
 * restricted mount). The last step shows the guest's whole tree and that config file.
 *
 * The guests are the ones transpiled with `--import-bindings hybrid`, the way @eryx/vfs-core
 * recommends: their file calls go straight to the host's lowerings rather than through jco's glue.
 */

const bindings = 'hybrid';

const config = restrictedFiles(
  { 'demo.conf': fileURLToPath(new URL('../demo.conf', import.meta.url)) },
  { readOnly: true },
);

async function execute(label: string, args: string[]): Promise<string> {
  const { description, storage, close } = openDemoStorage();
  console.log(`\n== ${label}: notes ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  console.log(`   /data is ${description}`);
  try {
    const run = await runGuest('notes', { mounts: { '/data': storage, '/config': config }, args, bindings });
    for (const line of run.stdout.trimEnd().split('\n')) console.log(`   guest stdout | ${line}`);
    if (run.stderr)
      for (const line of run.stderr.trimEnd().split('\n')) console.log(`   guest stderr | ${line}`);
    console.log(`   exit status ${run.exitCode}, ${run.ms.toFixed(0)} ms`);
    if (run.exitCode !== 0) process.exitCode = 1;
    return run.stdout;
  } finally {
    await close();
  }
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
const { storage, close } = openDemoStorage();
try {
  for (const args of [
    ['ls', '/'],
    ['ls', '/config'],
    ['cat', '/config/demo.conf'],
  ]) {
    const run = await runGuest('escape', { mounts: { '/data': storage, '/config': config }, args, bindings });
    console.log(`\n== guests/src/escape.c: escape ${args.join(' ')}`);
    for (const line of run.stdout.trimEnd().split('\n')) console.log(`   guest stdout | ${line}`);
    if (run.exitCode !== 0) process.exitCode = 1;
  }
} finally {
  await close();
}
