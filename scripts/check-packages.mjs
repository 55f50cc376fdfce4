#!/usr/bin/env node
// Install-alone check: packs every publishable package, installs each one (with only the core it
// peers on, and the workspace packages it depends on) into a clean project outside the workspace, type-checks and imports it there, loads it
// with require() from a CommonJS file (core and the backends: importing them has no top-level
// await), and checks that no other backend's client library came along (the CLI brings them all).
// vfs-python runs its interpreter there, and vfs-cli its bin. Needs the packages built.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLIENTS = ['better-sqlite3', 'pg', '@aws-sdk/client-s3'];

/**
 * Per package: its folder, the client library it may bring, code that must compile and run, and
 * CommonJS code that must run (`require`).
 */
const PACKAGES = {
  '@eryx/vfs-core': {
    dir: 'packages/vfs-core',
    client: null,
    code: `import { normalizePath, VfsError, type VfsStorage } from '@eryx/vfs-core';
const p: string = normalizePath('/a/./b/../c');
if (p !== '/a/c') throw new Error(p);
const e = new VfsError('not-found', undefined, { path: p });
const s: VfsStorage | undefined = undefined;
import { createWasiHost, type WasiHostOptions } from '@eryx/vfs-core/wasi';
import { createSyncBridge, type SyncBridgeOptions } from '@eryx/vfs-core/bridge';
const options: WasiHostOptions = { mounts: {}, args: ['check'] };
const bridgeOptions: SyncBridgeOptions = {};
const host = createWasiHost(options);
host.close();
console.log('core ok', e.wasiCode, s === undefined, typeof createSyncBridge, Object.keys(bridgeOptions).length);`,
    require: `const { normalizePath, VfsError } = require('@eryx/vfs-core');
const { createWasiHost, WasiExit } = require('@eryx/vfs-core/wasi');
const { createSyncBridge } = require('@eryx/vfs-core/bridge');
const host = createWasiHost({ mounts: {} });
host.close();
console.log('core cjs ok', normalizePath('/a/../b'), typeof VfsError, typeof WasiExit, typeof createSyncBridge);`,
  },
  '@eryx/vfs-memory': {
    dir: 'packages/vfs-memory',
    client: null,
    code: `import { memory } from '@eryx/vfs-memory';
import type { VfsStorage } from '@eryx/vfs-core';
const s: VfsStorage = memory();
await s.write('/x', new TextEncoder().encode('hi'));
console.log('memory ok', new TextDecoder().decode(await s.read('/x')));`,
    require: `const { memory } = require('@eryx/vfs-memory');
const s = memory();
s.sync.write('/x', new TextEncoder().encode('hi'));
console.log('memory cjs ok', new TextDecoder().decode(s.sync.read('/x')));`,
  },
  '@eryx/vfs-sqlite': {
    dir: 'packages/vfs-sqlite',
    client: 'better-sqlite3',
    code: `import * as sqlite from '@eryx/vfs-sqlite';
console.log('sqlite ok', Object.keys(sqlite).sort().join(','));`,
    require: `const sqlite = require('@eryx/vfs-sqlite');
console.log('sqlite cjs ok', Object.keys(sqlite).length > 0);`,
  },
  '@eryx/vfs-postgres': {
    dir: 'packages/vfs-postgres',
    client: 'pg',
    code: `import * as postgres from '@eryx/vfs-postgres';
console.log('postgres ok', Object.keys(postgres).sort().join(','));`,
    require: `const postgres = require('@eryx/vfs-postgres');
console.log('postgres cjs ok', Object.keys(postgres).length > 0);`,
  },
  '@eryx/vfs-s3': {
    dir: 'packages/vfs-s3',
    client: '@aws-sdk/client-s3',
    code: `import * as s3 from '@eryx/vfs-s3';
console.log('s3 ok', Object.keys(s3).sort().join(','));`,
    require: `const s3 = require('@eryx/vfs-s3');
console.log('s3 cjs ok', Object.keys(s3).length > 0);`,
  },
  '@eryx/vfs-conformance': {
    dir: 'conformance',
    client: null,
    code: `import { referenceStorage, runConformance, type ConformanceOptions } from '@eryx/vfs-conformance';
const options: ConformanceOptions = { name: 'x', create: referenceStorage };
console.log('conformance ok', typeof runConformance, options.name);`,
  },
  '@eryx/vfs-run': {
    dir: 'packages/vfs-run',
    client: null,
    with: ['@eryx/vfs-memory'],
    code: `import { run, type RunResult } from '@eryx/vfs-run';
const component = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const result: RunResult | undefined = undefined;
// An empty core module has no _start: refused before any guest runs, as a typed VfsError.
const error = await run({ component, mounts: { '/data': 'memory:' }, cacheDir: 'cache' }).catch((e: Error) => e);
console.log('run ok', typeof run, result === undefined, (error as { code?: string }).code !== undefined);`,
  },
  '@eryx/vfs-python': {
    dir: 'packages/vfs-python',
    client: null,
    with: ['@eryx/vfs-run', '@eryx/vfs-memory'],
    // The published package carries the interpreter and its standard library: run them.
    code: `import { python } from '@eryx/vfs-python';
const r = await python({ code: 'import json, sys; print(json.dumps(sys.version_info[:2]))', cacheDir: 'cache' });
console.log('python ok', r.status, r.exitCode, r.stdout.trim(), r.stderr.trim());`,
  },
  '@eryx/vfs-cli': {
    dir: 'packages/vfs-cli',
    clients: CLIENTS,
    with: [
      '@eryx/vfs-run',
      '@eryx/vfs-python',
      '@eryx/vfs-memory',
      '@eryx/vfs-sqlite',
      '@eryx/vfs-postgres',
      '@eryx/vfs-s3',
    ],
    code: `import { execFileSync } from 'node:child_process';
const out = execFileSync('node_modules/.bin/eryx-vfs', ['ls', 'memory:', '/'], { encoding: 'utf8' });
console.log('cli ok', JSON.stringify(out));`,
  },
};

const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

const work = mkdtempSync(join(tmpdir(), 'eryx-pack-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const only = process.argv.slice(2);
const selected = Object.entries(PACKAGES).filter(([name]) => only.length === 0 || only.includes(name));
const failures = [];
try {
  const tarballOf = {};
  const needed = new Set([
    '@eryx/vfs-core',
    ...selected.flatMap(([name, spec]) => [name, ...(spec.with ?? [])]),
  ]);
  for (const [name, { dir }] of Object.entries(PACKAGES).filter(([n]) => needed.has(n))) {
    const pkgDir = join(root, dir);
    if (!existsSync(join(pkgDir, 'dist'))) throw new Error(`${name}: no dist/ — run pnpm build first`);
    const before = new Set(readdirSync(tarballs));
    run('pnpm', ['pack', '--pack-destination', tarballs], pkgDir);
    const added = readdirSync(tarballs).filter((f) => !before.has(f));
    if (added.length !== 1) throw new Error(`${name}: pnpm pack produced ${added.join(', ') || 'nothing'}`);
    tarballOf[name] = join(tarballs, added[0]);
  }
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [name, { client, clients, with: others = [], code, require }] of selected) {
    const project = join(work, name.replace('@eryx/', ''));
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['check.ts'],
      }),
    );
    writeFileSync(join(project, 'check.ts'), code);
    const deps = [
      tarballOf['@eryx/vfs-core'],
      tarballOf[name],
      ...others.map((o) => tarballOf[o]),
      '@types/node@20',
    ];
    try {
      // --ignore-scripts: native clients are not compiled here; their JS and types must still load.
      run(
        'npm',
        ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...deps],
        project,
      );
      run(process.execPath, [tsc, '-p', '.'], project);
      // Run the same code as JavaScript (types stripped by a quick compile to .mjs).
      run(
        process.execPath,
        [tsc, '--outDir', 'out', '--module', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', 'check.ts'],
        project,
      );
      let output = run(process.execPath, [join(project, 'out', 'check.js')], project).trim();
      if (require) {
        writeFileSync(join(project, 'check.cjs'), require);
        output += `; ${run(process.execPath, [join(project, 'check.cjs')], project).trim()}`;
      }
      const allowed = clients ?? [client];
      const pulled = CLIENTS.filter(
        (c) => !allowed.includes(c) && existsSync(join(project, 'node_modules', c)),
      );
      if (pulled.length > 0) throw new Error(`installing ${name} pulled other clients: ${pulled.join(', ')}`);
      const size = JSON.parse(
        readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8'),
      ).version;
      console.log(`ok   ${name}@${size}: ${output}`);
    } catch (error) {
      const detail = [error.stdout, error.stderr].filter(Boolean).join('\n').trim() || error.message;
      failures.push(name);
      console.log(`FAIL ${name}\n${detail}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`\npackages: ${selected.length - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
