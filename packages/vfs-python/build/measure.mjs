// Measures the start-up of the CPython guest for each form of its standard library, and checks that
// the built guest works (see README.md next to this file).
//
//   node measure.mjs [--runs N] [--fresh N] [--forms zip,zip-stored,memory,host] [--check]
//                    [--component FILE.wasm|FILE.wasm.br] [--lib DIR] [--work DIR] [--build-python PY]
//
// Each form is run with and without .pyc files: `python -c pass` N times in one process (a fresh
// component instance over a fresh WASI host each time; the core modules are compiled once), and in
// N fresh Node processes. The stdlib storage is wrapped to count its calls by kind.
// Defaults: the component committed in ../guest, the stdlib staged by build.sh in WORK/stage,
// WORK=/work/pybuild/work (scratch, outside the repo: the transpiled guest and the forms go there)
// and Debian's /usr/bin/python3.11 to write the forms (build/stdlib.py).
// The forms are written once into WORK/measure: delete it after changing stdlib.py.
// `--check` runs the sanity checks instead, on the committed component and zip (`--check-form` to
// pick another): the modules the guest must have, and a SQLite database in a memory store at /data
// that passes `PRAGMA integrity_check`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

const started = performance.now();
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const core = (file) => import(pathToFileURL(join(repo, 'packages', file)).href);
const { createWasiHost, WasiExit } = await core('vfs-core/dist/wasi/index.js');
const { hostDirectory } = await core('vfs-core/dist/index.js');
const { memory } = await core('vfs-memory/dist/index.js');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const work = option('work', '/work/pybuild/work');
const runs = Number(option('runs', '10'));
const freshRuns = Number(option('fresh', '5'));
const componentFile = option('component', join(here, '..', 'guest', 'python.component.wasm.br'));
const libDir = option('lib', join(work, 'stage', 'lib', 'python3.11'));
const buildPython = option('build-python', '/usr/bin/python3.11');
const measureDir = join(work, 'measure');
const PREFIX = '/usr/local';
const env = { PYTHONHOME: PREFIX, PYTHONDONTWRITEBYTECODE: '1' };

// --- the guest: transpiled once per component into WORK/measure/transpiled/<hash>/ ----------------
function transpiled() {
  let bytes = readFileSync(componentFile);
  if (componentFile.endsWith('.br')) bytes = brotliDecompressSync(bytes);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(measureDir, 'transpiled', hash);
  if (!existsSync(join(dir, 'python.js'))) {
    mkdirSync(dir, { recursive: true });
    const wasm = join(dir, 'python.component.wasm');
    writeFileSync(wasm, bytes);
    const jco = join(repo, 'guests', 'node_modules', '.bin', 'jco');
    execFileSync(jco, [
      'transpile',
      wasm,
      '-o',
      dir,
      '--name',
      'python',
      '--instantiation',
      'async',
      '--import-bindings',
      'hybrid',
      '--no-typescript',
      '--quiet',
    ]);
  }
  return dir;
}
const guestDir = transpiled();
const { instantiate } = await import(pathToFileURL(join(guestDir, 'python.js')).href);
const modules = new Map();
const getCoreModule = (file) => {
  if (!modules.has(file)) modules.set(file, WebAssembly.compile(readFileSync(join(guestDir, file))));
  return modules.get(file);
};

// --- the stdlib forms -----------------------------------------------------------------------------
/** Counts the calls made on a sync storage, by operation. */
function counted(storage) {
  const calls = {};
  const proxy = new Proxy(storage, {
    get(target, key) {
      const value = target[key];
      if (typeof value !== 'function') return value;
      return (...a) => {
        calls[key] = (calls[key] ?? 0) + 1;
        return value.apply(target, a);
      };
    },
  });
  return { proxy, calls };
}

/** Files of an uncompressed ustar archive (as written by stdlib.py tar). */
function* untar(bytes) {
  const text = (at, len) => new TextDecoder().decode(bytes.subarray(at, at + len)).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= bytes.length; ) {
    const name = text(at, 100);
    if (name === '') return;
    const prefix = text(at + 345, 155);
    const size = Number.parseInt(text(at + 124, 12).trim() || '0', 8);
    const type = text(at + 156, 1);
    const path = prefix ? `${prefix}/${name}` : name;
    yield { path, type: type === '5' ? 'dir' : 'file', data: bytes.subarray(at + 512, at + 512 + size) };
    at += 512 + Math.ceil(size / 512) * 512;
  }
}

function stdlibFile(name, flags) {
  const file = join(measureDir, name);
  if (!existsSync(file)) {
    mkdirSync(measureDir, { recursive: true });
    const [kind] = name.split(/[-.]/);
    execFileSync(buildPython, [join(here, 'stdlib.py'), kind, libDir, file, ...flags], {
      env: { ...process.env, PYTHONHASHSEED: '0', TZ: 'UTC' },
    });
  }
  return file;
}

/** A fresh read-only stdlib mount for `form`, and how long making it took. */
function stdlibMount(form, pyc) {
  const t0 = performance.now();
  const noPyc = pyc ? [] : ['--no-pyc'];
  const suffix = pyc ? '' : '-nopyc';
  let sync;
  if (form === 'committed') {
    const store = memory({ maxBytes: Number.POSITIVE_INFINITY });
    store.sync.write('/python311.zip', readFileSync(join(here, '..', 'guest', 'python311.zip')));
    sync = store.sync;
  } else if (form === 'zip' || form === 'zip-stored') {
    const stored = form === 'zip-stored';
    const zip = stdlibFile(`zip${stored ? '-stored' : ''}${suffix}.zip`, [
      ...(stored ? ['--stored'] : []),
      ...noPyc,
    ]);
    const store = memory({ maxBytes: Number.POSITIVE_INFINITY });
    store.sync.write('/python311.zip', readFileSync(zip));
    sync = store.sync;
  } else if (form === 'memory') {
    const store = memory({ maxBytes: Number.POSITIVE_INFINITY });
    store.sync.mkdir('/python3.11');
    for (const entry of untar(readFileSync(stdlibFile(`tar${suffix}.tar`, noPyc)))) {
      if (entry.type === 'dir') store.sync.mkdir(`/python3.11/${entry.path}`);
      else store.sync.write(`/python3.11/${entry.path}`, entry.data);
    }
    sync = store.sync;
  } else if (form === 'host') {
    let root = dirname(libDir);
    if (!pyc) {
      root = join(measureDir, 'host-nopyc');
      if (!existsSync(root)) {
        cpSync(libDir, join(root, 'python3.11'), {
          recursive: true,
          filter: (src) => !src.includes('__pycache__'),
        });
      }
    }
    sync = hostDirectory(root, { readOnly: true });
  } else throw new Error(`unknown form ${form}`);
  return { sync, setupMs: performance.now() - t0 };
}

/** One execution of the guest: `python ...argv` over the stdlib mount and the extra mounts. */
async function runPython(stdlib, argv, extraMounts = {}) {
  const { proxy, calls } = counted(stdlib);
  const host = createWasiHost({
    mounts: { [`${PREFIX}/lib`]: { storage: proxy, readOnly: true }, ...extraMounts },
    env,
    args: ['python', ...argv],
  });
  const t0 = performance.now();
  let exitCode = 0;
  try {
    const instance = await instantiate(getCoreModule, host.imports);
    instance.run.run();
  } catch (error) {
    if (!(error instanceof WasiExit)) throw error;
    exitCode = error.code;
  } finally {
    host.close();
  }
  return {
    ms: performance.now() - t0,
    exitCode,
    stdout: host.stdout.text(),
    stderr: host.stderr.text(),
    calls,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => x.toFixed(0);

// --- child mode: one fresh-process run, reported as JSON ------------------------------------------
const child = option('child', undefined);
if (child !== undefined) {
  const [form, pyc] = child.split(':');
  const { sync, setupMs } = stdlibMount(form, pyc === 'pyc');
  const result = await runPython(sync, ['-c', 'pass']);
  process.stdout.write(
    JSON.stringify({ ...result, setupMs, sinceStart: performance.now() - started, stdout: undefined }),
  );
  process.exit(0);
}

// --- checks: the modules the issue names, and a SQLite database in /data ----------------------------
if (args.includes('--check')) {
  const { sync } = stdlibMount(option('check-form', 'committed'), true);
  const tmp = memory();
  const data = memory();
  const mounts = { '/tmp': tmp, '/data': data };
  const imports = await runPython(
    sync,
    ['-c', 'import sys, os, json, pathlib, shutil, tempfile, sqlite3, zlib, hashlib; print(sys.version)'],
    mounts,
  );
  console.log(`imports: exit ${imports.exitCode}, ${imports.stdout.trim()}${imports.stderr}`);
  const script = `
import sqlite3, tempfile, zlib, os
with tempfile.TemporaryDirectory() as d:
    open(os.path.join(d, "x"), "wb").write(zlib.compress(b"eryx" * 1000))
db = sqlite3.connect("/data/check.db")
db.execute("create table t (k integer primary key, v text)")
db.executemany("insert into t (v) values (?)", [("row %d" % i * 20,) for i in range(2000)])
db.commit()
db.execute("create index t_v on t (v)")
db.commit()
db.close()
db = sqlite3.connect("/data/check.db")
print(db.execute("pragma integrity_check").fetchone()[0], db.execute("select count(*) from t").fetchone()[0])
`;
  const sqlite = await runPython(sync, ['-c', script], mounts);
  const header = new TextDecoder().decode(data.sync.read('/check.db').subarray(0, 15));
  console.log(`sqlite: exit ${sqlite.exitCode}, ${sqlite.stdout.trim()}${sqlite.stderr}; header "${header}"`);
  const ok =
    imports.exitCode === 0 &&
    imports.stdout.startsWith('3.11.2') &&
    sqlite.exitCode === 0 &&
    sqlite.stdout.trim() === 'ok 2000' &&
    header === 'SQLite format 3';
  console.log(ok ? 'checks passed' : 'CHECKS FAILED');
  process.exit(ok ? 0 : 1);
}

// --- the table ------------------------------------------------------------------------------------
// `-c pass` loads almost only frozen modules; the import line shows what .pyc files save.
const IMPORTS = 'import json, pathlib, shutil, tempfile, sqlite3, zlib, hashlib, argparse, csv, datetime';
const forms = option('forms', 'zip,zip-stored,memory,host').split(',');
const callText = (calls) =>
  Object.entries(calls)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** One `python -c pass` in a new Node process: guest ms (compile included), wall ms, mount setup ms. */
function fresh(form, pyc) {
  const t0 = performance.now();
  const childArgs = [
    '--child',
    `${form}:${pyc ? 'pyc' : 'nopyc'}`,
    '--work',
    work,
    '--component',
    componentFile,
  ];
  const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...childArgs, '--lib', libDir], {
    encoding: 'utf8',
  });
  const wall = performance.now() - t0;
  if (p.status !== 0) throw new Error(`${form}: child failed: ${p.stderr}`);
  const reported = JSON.parse(p.stdout);
  return { guest: reported.ms, wall, setup: reported.setupMs };
}

/** `python ...argv` once; throws when it fails. */
async function timed(sync, argv) {
  const r = await runPython(sync, argv);
  if (r.exitCode !== 0) throw new Error(`python ${argv.join(' ')} failed: ${r.stderr}`);
  return r;
}

console.log(
  `component ${relative(process.cwd(), componentFile)}; ${runs} runs in one process, ${freshRuns} fresh processes, interleaved; median (fastest) ms\n`,
);
console.log(
  '| stdlib | .pyc | `-c pass` repeated | `-c pass` fresh: guest | fresh: wall | mount setup | imports repeated | storage calls: `-c pass` / imports |',
);
console.log('|---|---|---|---|---|---|---|---|');
// The machine is shared: every round runs each configuration once, so load hits them alike.
const configs = forms.flatMap((form) =>
  [true, false].map((pyc) => ({ form, pyc, pass: [], imports: [], guest: [], wall: [], setup: [] })),
);
for (const c of configs) {
  c.sync = stdlibMount(c.form, c.pyc).sync;
  await timed(c.sync, ['-c', 'pass']); // the first run also compiles the core modules
}
for (let i = 0; i < runs; i++) {
  for (const c of configs) {
    const pass = await timed(c.sync, ['-c', 'pass']);
    const imports = await timed(c.sync, ['-c', IMPORTS]);
    c.pass.push(pass.ms);
    c.imports.push(imports.ms);
    c.calls = `${callText(pass.calls)} / ${callText(imports.calls)}`;
  }
}
for (let i = 0; i < freshRuns; i++) {
  for (const c of configs) {
    const f = fresh(c.form, c.pyc);
    c.guest.push(f.guest);
    c.wall.push(f.wall);
    c.setup.push(f.setup);
  }
}
const cell = (xs) => `${fmt(median(xs))} (${fmt(Math.min(...xs))})`;
for (const c of configs) {
  console.log(
    `| ${c.form} | ${c.pyc ? 'yes' : 'no'} | ${cell(c.pass)} | ${cell(c.guest)} | ${cell(c.wall)} | ${cell(c.setup)} | ${cell(c.imports)} | ${c.calls} |`,
  );
}
for (const name of readdirSync(measureDir)
  .filter((f) => /\.(zip|tar)$/.test(f))
  .sort())
  console.log(`${name}: ${statSync(join(measureDir, name)).size} bytes`);
