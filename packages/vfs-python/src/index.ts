import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompress } from 'node:zlib';
import { VfsError } from '@eryx/vfs-core';
import {
  defaultCacheDir,
  type PreparedComponent,
  prepareComponent,
  type RunMount,
  type RunOptions,
  type RunResult,
  run,
} from '@eryx/vfs-run';

/** The CPython version of the guest. */
export const PYTHON_VERSION = '3.11.2';

/** Where the guest finds its standard library: `PYTHONHOME`. */
export const PYTHON_HOME = '/usr/local';

/** Where a `sitePackages` mount appears in the guest (on `sys.path`, as `site` adds it). */
export const SITE_PACKAGES = '/usr/local/lib/python3.11/site-packages';

const STDLIB_MOUNT = '/usr/local/lib';
const GUEST_DIR = fileURLToPath(new URL('../guest/', import.meta.url));
const COMPONENT_FILE = join(GUEST_DIR, 'python.component.wasm.br');
const STDLIB_FILE = join(GUEST_DIR, 'python311.zip');

/** Options of {@link python}: those of `run` from `@eryx/vfs-run`, and what to run. */
export interface PythonOptions extends Omit<RunOptions, 'component' | 'args'> {
  /** Source code to run, as `python -c code`. */
  code?: string;
  /** A module to run as the main module, as `python -m module`. */
  module?: string;
  /** A script to run, as `python script`: a guest path, e.g. `/data/app.py` (in one of `mounts`). */
  script?: string;
  /** What follows the code, module or script: the program's `sys.argv[1:]`. */
  args?: string[];
  /** Options of the interpreter itself, before the code, module or script (e.g. `['-I', '-X', 'utf8']`). */
  pythonArgs?: string[];
  /**
   * What is mounted at `/tmp`: a fresh, empty memory store for each execution by default, of at
   * most 64 MiB (the memory backend's default limit; CPython for WASI has no `/tmp` otherwise); any
   * mount to keep it or size it otherwise (`'memory:?maxBytes=1GiB'`), `false` for none.
   */
  tmp?: RunMount | false;
  /**
   * Packages for the guest's `import`: a host directory (`host:./site-packages` is read-only by
   * default here) or any mount, mounted read-only at {@link SITE_PACKAGES}, which `site` puts on
   * `sys.path`. Pure-Python packages only: the guest loads no native extensions.
   */
  sitePackages?: RunMount;
}

function checkWhat(options: PythonOptions): string[] {
  const given = (['code', 'module', 'script'] as const).filter((name) => options[name] !== undefined);
  if (given.length > 1) {
    throw new VfsError(
      'invalid-argument',
      `python: give one of code, module and script, not ${given.join(' and ')}`,
    );
  }
  for (const name of given) {
    if (typeof options[name] !== 'string')
      throw new VfsError('invalid-argument', `python: ${name} must be a string`);
  }
  for (const name of ['args', 'pythonArgs'] as const) {
    const list = options[name];
    if (list !== undefined && (!Array.isArray(list) || list.some((a) => typeof a !== 'string'))) {
      throw new VfsError('invalid-argument', `python: ${name} must be an array of strings`);
    }
  }
  const argv = ['python', ...(options.pythonArgs ?? [])];
  if (options.code !== undefined) argv.push('-c', options.code);
  else if (options.module !== undefined) argv.push('-m', options.module);
  else if (options.script !== undefined) argv.push(options.script);
  return [...argv, ...(options.args ?? [])];
}

function readOnly(mount: RunMount): RunMount {
  if (typeof mount === 'string') return { source: mount, readOnly: true };
  if (typeof mount === 'object' && mount !== null && 'source' in mount) return { ...mount, readOnly: true };
  return { source: mount, readOnly: true };
}

const prepared = new Map<string, Promise<PreparedComponent>>();
const unpacked = new Map<string, Promise<string>>();

/** `unpack` once per cache directory and process. */
function unpackOnce(cacheDir: string): Promise<string> {
  let file = unpacked.get(cacheDir);
  if (!file) {
    file = unpack(cacheDir);
    file.catch(() => unpacked.delete(cacheDir));
    unpacked.set(cacheDir, file);
  }
  return file;
}

/**
 * The CPython guest ready to run: decompressed into the cache once (as `python-<hash>.wasm`) and
 * transpiled there by `prepareComponent`. Later calls in the process return the same promise.
 */
export function pythonComponent(options: { cacheDir?: string } = {}): Promise<PreparedComponent> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  let entry = prepared.get(cacheDir);
  if (!entry) {
    entry = unpackOnce(cacheDir).then((file) => prepareComponent(file, { cacheDir }));
    entry.catch(() => prepared.delete(cacheDir));
    prepared.set(cacheDir, entry);
  }
  return entry;
}

/** The decompressed component in the cache, written once (racing processes all succeed). */
async function unpack(cacheDir: string): Promise<string> {
  let packed: Buffer;
  try {
    packed = await readFile(COMPONENT_FILE);
  } catch (error) {
    throw new VfsError('not-found', 'the CPython component is missing from @eryx/vfs-python', {
      path: COMPONENT_FILE,
      cause: error,
    });
  }
  const key = createHash('sha256').update(packed).digest('hex').slice(0, 32);
  const file = join(cacheDir, `python-${key}.wasm`);
  if (existsSync(file)) return file;
  const bytes = await promisify(brotliDecompress)(packed);
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(temp, bytes);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new VfsError('io', `cannot write the CPython component into the cache: ${String(error)}`, {
      path: file,
      cause: error,
    });
  }
  return file;
}

/**
 * Runs CPython 3.11 (for WASI) once, in a worker, over the given mounts: `run` from
 * `@eryx/vfs-run` with the interpreter as the component, its standard library mounted read-only
 * (a zip at `/usr/local/lib/python311.zip`), `PYTHONHOME`, and a fresh memory store at `/tmp`.
 * What the program writes under a store mount such as `/data` is there in the next execution, in
 * any process. Nothing of the host is visible unless a mount says so.
 *
 * The first call in a machine decompresses and transpiles the interpreter into the cache (some
 * seconds); later calls reuse it.
 *
 * @example
 * ```ts
 * const result = await python({
 *   code: 'import pathlib; p = pathlib.Path("/data/n.txt"); p.write_text("hi"); print(p.read_text())',
 *   mounts: { '/data': 'sqlite:./state.db#user-42' },
 *   timeout: 30_000,
 * });
 * console.log(result.exitCode, result.stdout); // 0 'hi\n'
 * ```
 *
 * @throws {VfsError} as `run` does, before the program starts; `invalid-argument` when more than
 *   one of `code`, `module` and `script` is given. The program's own errors are in the result
 *   (`exitCode` 1 and the traceback on `stderr`).
 */
export async function python(options: PythonOptions = {}): Promise<RunResult> {
  if (typeof options !== 'object' || options === null) {
    throw new VfsError('invalid-argument', 'python: options must be an object');
  }
  const args = checkWhat(options);
  const { code, module, script, pythonArgs, tmp, sitePackages, mounts, env, ...rest } = options;
  const all: Record<string, RunMount> = {
    [STDLIB_MOUNT]: { source: `host:${GUEST_DIR}`, readOnly: true },
  };
  if (tmp !== false) all['/tmp'] = tmp ?? 'memory:';
  if (sitePackages !== undefined) all[SITE_PACKAGES] = readOnly(sitePackages);
  for (const [at, mount] of Object.entries(mounts ?? {})) {
    if (at === STDLIB_MOUNT || at === PYTHON_HOME || at === '/usr' || at === '/') {
      throw new VfsError(
        'invalid-argument',
        `python: ${at} would hide the standard library; mount elsewhere`,
        {
          path: at,
        },
      );
    }
    all[at] = mount;
  }
  // The file, not pythonComponent(): run() then compiles it while its worker starts.
  const component = await unpackOnce(options.cacheDir ?? defaultCacheDir());
  return run({
    ...rest,
    component,
    mounts: all,
    args,
    env: { PYTHONHOME: PYTHON_HOME, PYTHONDONTWRITEBYTECODE: '1', ...env },
  });
}

/** The committed guest files, for tools that mount or check them (see `build/README.md`). */
export const PYTHON_GUEST_FILES = { component: COMPONENT_FILE, stdlib: STDLIB_FILE } as const;
