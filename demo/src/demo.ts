import { fileURLToPath } from 'node:url';
import { restrictedFiles } from '@eryx/vfs-core';
import { python } from '@eryx/vfs-python';
import { demoStore } from './backend.js';

/*
 * Runs a real Python program (python/notes.py, CPython 3.11 compiled to WASI) twice with `python`
 * from @eryx/vfs-python, each time as a fresh interpreter in a worker thread over a freshly opened
 * store at /data. Each execution appends to /data/notes.txt and inserts into /data/visits.db (a
 * database of Python's own sqlite3 module, its file kept by eryx-vfs). The second execution finds
 * what the first wrote only because the backend kept it, and so does the next `pnpm demo`.
 *
 * The program itself is the one host file the guest can see: a read-only restricted mount at /app.
 */

const script = fileURLToPath(new URL('../python/notes.py', import.meta.url));
const app = restrictedFiles({ 'notes.py': script }, { readOnly: true });
const store = demoStore();

interface Grown {
  lines: number;
  rows: number;
}

async function execute(label: string, note: string): Promise<Grown | undefined> {
  console.log(`\n== ${label}: python /app/notes.py ${JSON.stringify(note)}`);
  const result = await python({
    script: '/app/notes.py',
    args: [note],
    mounts: { '/data': store.url, '/app': app },
    timeout: 120_000,
  });
  for (const [name, text] of [
    ['stdout', result.stdout],
    ['stderr', result.stderr],
  ] as const) {
    for (const line of text.trimEnd().split('\n').filter(Boolean)) {
      if (!line.startsWith('RESULT ')) console.log(`   guest ${name} | ${line}`);
    }
  }
  console.log(`   ${result.status}, exit status ${result.exitCode}, ${result.durationMs.toFixed(0)} ms`);
  const match = /^RESULT lines=(\d+) rows=(\d+) check=ok$/m.exec(result.stdout);
  if (result.status !== 'exited' || result.exitCode !== 0 || !match) {
    process.exitCode = 1;
    return undefined;
  }
  return { lines: Number(match[1]), rows: Number(match[2]) };
}

console.log(`/data is ${store.description}`);
const first = await execute('execution 1', `hello from ${new Date().toISOString()}`);
const second = await execute('execution 2', 'and once more');
if (first && second && second.lines === first.lines + 1 && second.rows === first.rows + 1) {
  console.log(
    `\nExecution 2 found what execution 1 wrote: notes.txt grew from ${first.lines} to ${second.lines} lines, visits.db from ${first.rows} to ${second.rows} rows.`,
  );
  // The URL as given (a password, if any, shown redacted: put yours back).
  const quoted = `'${store.href.replace(/'/g, `'\\''`)}'`;
  console.log(`The files live in ${store.description}. Look at them with the CLI, from the repository root:`);
  console.log(`   npx --yes pnpm@10.34.8 eryx-vfs ls -l ${quoted} /`);
  console.log(`   npx --yes pnpm@10.34.8 eryx-vfs cat ${quoted} /notes.txt`);
} else {
  console.error('\nExecution 2 did not find what execution 1 wrote.');
  process.exitCode = 1;
}
