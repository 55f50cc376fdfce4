import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isUint8Array, VfsError } from '@eryx/vfs-core';
import { importMemory } from './memory.js';
import { prestartWorker } from './pool.js';
import type { CoreModule } from './protocol.js';

/** What `run` and `prepareComponent` accept as a program: a path, a `file:` URL, or the bytes. */
export type ComponentSource = string | URL | Uint8Array;

/** Options of {@link prepareComponent}. */
export interface PrepareOptions {
  /**
   * Where transpiled components are kept, one directory per content hash. Default:
   * `$ERYX_VFS_CACHE`, else `$XDG_CACHE_HOME/eryx-vfs`, else `~/.cache/eryx-vfs`.
   */
  cacheDir?: string;
}

/**
 * A component ready to run: transpiled into the cache and compiled. Pass it as `component` to
 * `run` to skip reading, hashing and the cache lookup on each run.
 */
export interface PreparedComponent {
  /** The content hash naming the cache entry (of the bytes, the transpiler's version and options). */
  readonly key: string;
  /** The cache entry: the transpiled JS and core modules. */
  readonly dir: string;
  /** Whether the cache already held it when this process first prepared it (nothing was transpiled). */
  readonly fromCache: boolean;
  /** Whether the input was a WASI preview1 core module (wrapped with jco's preview1 adapter). */
  readonly preview1: boolean;
}

/** What the worker needs; kept per cache entry. */
export interface Loaded extends PreparedComponent {
  readonly js: string;
  readonly modules: Record<string, CoreModule>;
}

const { compile } = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CoreModule> } }
).WebAssembly;

const require = createRequire(import.meta.url);

/** How components are transpiled: the `jco transpile --instantiation async --import-bindings hybrid` output. */
const TRANSPILE_OPTIONS = {
  name: 'component',
  instantiation: 'async',
  importBindings: 'hybrid',
  emitTypescriptDeclarations: false,
  // As the jco CLI does: a component whose `run` returns an error throws a ComponentError.
  noComponentErrorWrapping: false,
} as const;

const JS_FILE = 'component.js';

/** The root directory of an installed package (its exports map may hide `package.json`). */
function packageRoot(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(name), 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

let transpilerVersion: string | undefined;
function transpiler(): string {
  transpilerVersion ??= packageVersion('@bytecodealliance/jco-transpile');
  return transpilerVersion;
}

/** The default cache directory (see {@link PrepareOptions.cacheDir}). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ERYX_VFS_CACHE) return resolve(env.ERYX_VFS_CACHE);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'eryx-vfs');
  return join(homedir(), '.cache', 'eryx-vfs');
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** `module` (a core module, version 1), `component` (layer 1), or neither. */
function kindOf(bytes: Uint8Array): 'module' | 'component' | undefined {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) return undefined;
  const layer = bytes[6]! | (bytes[7]! << 8);
  const version = bytes[4]! | (bytes[5]! << 8);
  if (layer === 0 && version === 1) return 'module';
  if (layer === 1) return 'component';
  return undefined;
}

/** The preview1 adapter that ships with `@bytecodealliance/jco`. */
async function preview1Adapter(): Promise<Uint8Array> {
  let root: string;
  try {
    root = packageRoot('@bytecodealliance/jco');
  } catch (error) {
    throw new VfsError(
      'unsupported',
      'running a WASI preview1 module needs the preview1 adapter of @bytecodealliance/jco: install @bytecodealliance/jco (^1.35)',
      { cause: error },
    );
  }
  // The package's exports map hides lib/: it is found from the package's root.
  const file = join(root, 'lib', 'wasi_snapshot_preview1.command.wasm');
  try {
    return await readFile(file);
  } catch (error) {
    throw new VfsError('not-found', '@bytecodealliance/jco has no preview1 command adapter', {
      path: file,
      cause: error,
    });
  }
}

function describe(source: ComponentSource): string {
  if (source instanceof Uint8Array) return `the given bytes (${source.length} bytes)`;
  return String(source instanceof URL ? fileURLToPath(source) : source);
}

async function readSource(source: ComponentSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  let path: string;
  try {
    path = source instanceof URL || source.startsWith('file:') ? fileURLToPath(source) : resolve(source);
  } catch (error) {
    throw new VfsError('invalid-argument', `${String(source)} is not a file path or file: URL`, {
      cause: error,
    });
  }
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new VfsError(
      code === 'ENOENT' ? 'not-found' : code === 'EISDIR' ? 'is-a-directory' : 'io',
      'cannot read the component',
      { path, cause: error },
    );
  }
}

/** The transpiled files, written to a temporary directory renamed into place (racers all succeed). */
async function transpileInto(dir: string, bytes: Uint8Array, preview1: boolean): Promise<void> {
  let component = bytes;
  if (preview1) {
    const adapter = await preview1Adapter();
    const { componentNew } = await import('@bytecodealliance/jco-transpile/wasm-tools');
    try {
      component = await componentNew(bytes, [['wasi_snapshot_preview1', adapter]]);
    } catch (error) {
      throw new VfsError('invalid-argument', `cannot wrap the preview1 module: ${String(error)}`, {
        cause: error,
      });
    }
  }
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let files: Record<string, Uint8Array>;
  try {
    ({ files } = await transpileBytes(component, { ...TRANSPILE_OPTIONS }));
  } catch (error) {
    throw new VfsError('invalid-argument', `jco cannot transpile the component: ${String(error)}`, {
      cause: error,
    });
  }
  const parent = dirname(dir);
  const temp = join(parent, `.tmp-${randomBytes(8).toString('hex')}`);
  try {
    for (const [name, data] of Object.entries(files)) {
      const file = join(temp, name);
      await mkdir(dirname(file), { recursive: true });
      // Rewritten here, once, rather than copied at each compile (memory.ts).
      await writeFile(file, (name.endsWith('.wasm') && importMemory(data)) || data);
    }
    try {
      await rename(temp, dir);
    } catch (error) {
      // Another process put the same entry in place first: theirs is as good as ours.
      if (existsSync(join(dir, JS_FILE))) return;
      // What is there is not an entry (a damaged one, say): replace it.
      await rm(dir, { recursive: true, force: true });
      await rename(temp, dir).catch(() => {
        throw error;
      });
    }
  } catch (error) {
    throw new VfsError('io', `cannot write the transpiled component into the cache: ${String(error)}`, {
      path: dir,
      cause: error,
    });
  } finally {
    await rm(temp, { recursive: true, force: true }).catch(() => {});
  }
}

/** Cache entries already compiled in this process, by directory. */
const loaded = new Map<string, Promise<Loaded>>();
/** The content hash of files already read, by path, size and modification time. */
const hashes = new Map<string, { size: number; mtimeMs: number; key: string; preview1: boolean }>();

/** What every key is salted with: a new entry format or transpiler makes new entries. */
function salt(): string {
  return `eryx-vfs-run 2\0jco-transpile ${transpiler()}\0${JSON.stringify(TRANSPILE_OPTIONS)}\0`;
}

function keyOf(bytes: Uint8Array, kind: 'module' | 'component'): string {
  const hash = createHash('sha256');
  hash.update(`${salt()}${kind}\0`);
  if (kind === 'module') {
    // The adapter is part of the output: a new jco version is a new entry.
    try {
      hash.update(`jco ${packageVersion('@bytecodealliance/jco')}\0`);
    } catch {
      // No jco: preview1Adapter() reports it.
    }
  }
  hash.update(bytes);
  return hash.digest('hex');
}

async function compileEntry(
  dir: string,
  key: string,
  fromCache: boolean,
  preview1: boolean,
): Promise<Loaded> {
  const modules: Record<string, CoreModule> = {};
  const names = (await readdir(dir)).filter((name) => name.endsWith('.wasm'));
  await Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name));
      // Entries are written rewritten (transpileInto); one written otherwise is rewritten here.
      modules[name] = await compile(importMemory(bytes) ?? bytes);
    }),
  );
  return { key, dir, fromCache, preview1, js: pathToFileURL(join(dir, JS_FILE)).href, modules };
}

/**
 * Transpiles (once: the result is cached on disk by content hash) and compiles (once per process)
 * a WASI 0.2 command component or a WASI preview1 module (wrapped with jco's preview1 adapter).
 * Passing the result to `run` as `component` makes repeated runs skip the file read and hash.
 *
 * @throws {VfsError} `not-found` (no such file), `invalid-argument` (not a WebAssembly component or
 *   module, or one jco cannot transpile), `unsupported` (a preview1 module without
 *   `@bytecodealliance/jco` installed)
 */
export async function prepareComponent(
  component: ComponentSource | PreparedComponent,
  options: PrepareOptions = {},
): Promise<PreparedComponent> {
  return load(component, options);
}

/**
 * Starts a worker for the next `run` ahead of time and, given a prepared component, has it load the
 * component's JS: a program that runs a guest once can overlap that start (tens to hundreds of
 * milliseconds) with its own work, such as compiling the component or opening its stores. The worker
 * waits among the idle ones `run` takes from and does not keep the process alive.
 *
 * @example
 * ```ts
 * const component = await prepareComponent('app.component.wasm');
 * prestart(component);
 * const result = await run({ component, args: ['app'] });
 * ```
 */
export function prestart(component?: PreparedComponent): void {
  prestartWorker(component === undefined ? undefined : pathToFileURL(join(component.dir, JS_FILE)).href);
}

/** A component file's key, as an earlier process found it, kept in the cache by path. */
interface KnownFile {
  path: string;
  size: number;
  mtimeMs: number;
  salt: string;
  key: string;
  preview1: boolean;
}

function knownFileEntry(cacheDir: string, path: string): string {
  return join(cacheDir, 'files', `${createHash('sha256').update(path).digest('hex').slice(0, 32)}.json`);
}

/**
 * The key an earlier process computed for this file, if its size and modification time are still
 * those it hashed (the same shortcut `hashes` takes within a process): a new process then neither
 * reads nor hashes a large component again.
 */
async function knownFile(
  cacheDir: string,
  path: string,
  stats: { size: number; mtimeMs: number },
): Promise<KnownFile | undefined> {
  try {
    const known = JSON.parse(await readFile(knownFileEntry(cacheDir, path), 'utf8')) as KnownFile;
    const same =
      known.path === path &&
      known.size === stats.size &&
      known.mtimeMs === stats.mtimeMs &&
      known.salt === salt() &&
      typeof known.key === 'string' &&
      /^[0-9a-f]{64}$/.test(known.key);
    return same ? known : undefined;
  } catch {
    return undefined;
  }
}

async function rememberFile(cacheDir: string, known: KnownFile): Promise<void> {
  const entry = knownFileEntry(cacheDir, known.path);
  const temp = `${entry}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(entry), { recursive: true });
    await writeFile(temp, JSON.stringify(known));
    await rename(temp, entry);
  } catch {
    // Only a shortcut for the next process, which then hashes the file again.
    await rm(temp, { force: true }).catch(() => {});
  }
}

/**
 * The component's cache entry, transpiled if needed, and compiled. `onEntry` gets the entry's JS
 * (`file:` URL) as soon as the entry is on disk, before compiling: `run` has its worker import it
 * meanwhile.
 */
export async function load(
  component: ComponentSource | PreparedComponent,
  options: PrepareOptions,
  onEntry?: (js: string) => void,
): Promise<Loaded> {
  // Bytes from another realm (a vm context) fail instanceof: view them from this one.
  if (!(component instanceof Uint8Array) && isUint8Array(component)) {
    const bytes = component as Uint8Array;
    component = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (isPrepared(component)) {
    onEntry?.(pathToFileURL(join(component.dir, JS_FILE)).href);
    const known = loaded.get(component.dir);
    if (known) return known;
    return remember(component.dir, () =>
      compileEntry(component.dir, component.key, true, component.preview1),
    );
  }
  if (!(component instanceof Uint8Array) && typeof component !== 'string' && !(component instanceof URL)) {
    throw new VfsError(
      'invalid-argument',
      'component must be a path, a file: URL or the bytes of a WebAssembly component',
    );
  }
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const path = component instanceof Uint8Array ? undefined : fileOf(component);
  const stats = path === undefined ? undefined : statSafe(path);
  const seen = path === undefined ? undefined : hashes.get(path);
  let bytes: Uint8Array | undefined;
  let key: string;
  let preview1: boolean;
  const known =
    path && stats && !(seen && seen.size === stats.size && seen.mtimeMs === stats.mtimeMs)
      ? await knownFile(cacheDir, path, stats)
      : undefined;
  if (stats && seen && seen.size === stats.size && seen.mtimeMs === stats.mtimeMs) {
    // The same file as before (size and modification time): no need to read and hash it again.
    ({ key, preview1 } = seen);
  } else if (path && stats && known) {
    ({ key, preview1 } = known);
    hashes.set(path, { size: stats.size, mtimeMs: stats.mtimeMs, key, preview1 });
  } else {
    bytes = await readSource(component);
    const kind = kindOf(bytes);
    if (!kind) {
      throw new VfsError(
        'invalid-argument',
        `${describe(component)} is not a WebAssembly component or module`,
      );
    }
    key = keyOf(bytes, kind);
    preview1 = kind === 'module';
    if (path && stats) {
      hashes.set(path, { size: stats.size, mtimeMs: stats.mtimeMs, key, preview1 });
      await rememberFile(cacheDir, { path, ...stats, salt: salt(), key, preview1 });
    }
  }
  const dir = join(cacheDir, key);
  const js = pathToFileURL(join(dir, JS_FILE)).href;
  const existing = loaded.get(dir);
  if (existing) {
    onEntry?.(js);
    return existing;
  }
  return remember(dir, async () => {
    const fromCache = existsSync(join(dir, JS_FILE));
    if (!fromCache) await transpileInto(dir, bytes ?? (await readSource(component)), preview1);
    onEntry?.(js);
    return compileEntry(dir, key, fromCache, preview1);
  });
}

function remember(dir: string, make: () => Promise<Loaded>): Promise<Loaded> {
  const promise = make();
  loaded.set(dir, promise);
  // A failure is not cached: the next run tries again.
  promise.catch(() => loaded.delete(dir));
  return promise;
}

function fileOf(source: string | URL): string | undefined {
  try {
    return source instanceof URL || source.startsWith('file:') ? fileURLToPath(source) : resolve(source);
  } catch {
    return undefined;
  }
}

function statSafe(path: string): { size: number; mtimeMs: number } | undefined {
  try {
    const stats = statSync(path);
    return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

function isPrepared(value: unknown): value is PreparedComponent {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    !(value instanceof URL) &&
    typeof (value as PreparedComponent).key === 'string' &&
    typeof (value as PreparedComponent).dir === 'string'
  );
}
