import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VfsError } from '@eryx/vfs-core';
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
      await writeFile(file, data);
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

function keyOf(bytes: Uint8Array, kind: 'module' | 'component'): string {
  const hash = createHash('sha256');
  hash.update(
    `eryx-vfs-run 1\0jco-transpile ${transpiler()}\0${JSON.stringify(TRANSPILE_OPTIONS)}\0${kind}\0`,
  );
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
  for (const name of await readdir(dir)) {
    if (name.endsWith('.wasm')) modules[name] = await compile(await readFile(join(dir, name)));
  }
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

export async function load(
  component: ComponentSource | PreparedComponent,
  options: PrepareOptions,
): Promise<Loaded> {
  if (isPrepared(component)) {
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
  if (stats && seen && seen.size === stats.size && seen.mtimeMs === stats.mtimeMs) {
    // The same file as before (size and modification time): no need to read and hash it again.
    ({ key, preview1 } = seen);
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
    if (path && stats) hashes.set(path, { size: stats.size, mtimeMs: stats.mtimeMs, key, preview1 });
  }
  const dir = join(cacheDir, key);
  return (
    loaded.get(dir) ??
    remember(dir, async () => {
      const fromCache = existsSync(join(dir, JS_FILE));
      if (!fromCache) await transpileInto(dir, bytes ?? (await readSource(component)), preview1);
      return compileEntry(dir, key, fromCache, preview1);
    })
  );
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
