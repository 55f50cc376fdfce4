import { readFile } from 'node:fs/promises';
import { createWasiHost, WasiExit, type WasiHostOptions, type WasiImports } from '@eryx/vfs-core/wasi';

/** The guests built from src/*.c (fixtures/<name>.component.wasm, transpiled into dist/<name>/). */
export type GuestName = 'bench' | 'escape' | 'fs_test' | 'notes' | 'sqlite_guest';

/**
 * How a guest was transpiled: with jco's default bindings (`js`: every host call through jco's
 * generated glue), or with `--import-bindings hybrid` (the core module calls the host's direct
 * lowerings where it has them, which is several times faster on file-heavy work).
 */
export type GuestBindings = 'js' | 'hybrid';

/** The outcome of one execution of a guest. */
export interface GuestRun {
  /** The guest's exit status (jco's preview1 adapter reports every failure as 1). */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Wall time of instantiate + run + the host's final flush, in milliseconds. */
  ms: number;
}

/** A compiled core module (`WebAssembly.Module`; the repo's `lib` has no WebAssembly types). */
type CoreModule = object;
const { compile } = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CoreModule> } }
).WebAssembly;

interface Transpiled {
  instantiate(
    getCoreModule: (path: string) => Promise<CoreModule>,
    imports: WasiImports,
  ): Promise<{ run: { run(): void } }>;
}

const dist = new URL('../dist/', import.meta.url);
const compiled = new Map<string, Promise<CoreModule>>();

/** Where a guest's transpiled files are: dist/<name>/ or dist/hybrid/<name>/. */
function guestDir(name: GuestName, bindings: GuestBindings): URL {
  return new URL(bindings === 'hybrid' ? `hybrid/${name}/` : `${name}/`, dist);
}

function coreModule(dir: URL, file: string): Promise<CoreModule> {
  const url = new URL(file, dir);
  let module = compiled.get(url.href);
  if (!module) {
    module = readFile(url).then((bytes) => compile(bytes));
    compiled.set(url.href, module);
  }
  return module;
}

/**
 * A fresh instance of a transpiled guest (`pnpm build` must have transpiled it into dist/) over the
 * given imports; core modules are compiled once per process.
 */
export async function instantiateGuest(
  name: GuestName,
  imports: WasiImports,
  bindings: GuestBindings = 'js',
): Promise<{ run: { run(): void } }> {
  const dir = guestDir(name, bindings);
  let transpiled: Transpiled;
  try {
    transpiled = (await import(new URL(`${name}.js`, dir).href)) as Transpiled;
  } catch (error) {
    throw new Error(`guest ${name} is not transpiled (${String(error)}): run \`pnpm build\``);
  }
  return transpiled.instantiate((file) => coreModule(dir, file), imports);
}

/**
 * Runs a guest once, as a fresh component instance over a fresh WASI host (`pnpm build` must have
 * transpiled it into dist/). The storage in `options.mounts` is what persists between runs.
 */
export async function runGuest(
  name: GuestName,
  options: WasiHostOptions & { bindings?: GuestBindings },
): Promise<GuestRun> {
  const started = performance.now();
  const { bindings, ...hostOptions } = options;
  const host = createWasiHost({ ...hostOptions, args: [name, ...(options.args ?? [])] });
  let exitCode = 0;
  try {
    const component = await instantiateGuest(name, host.imports, bindings);
    component.run.run();
  } catch (error) {
    if (!(error instanceof WasiExit)) throw error;
    exitCode = error.code;
  } finally {
    host.close();
  }
  return {
    exitCode,
    stdout: host.stdout.text(),
    stderr: host.stderr.text(),
    ms: performance.now() - started,
  };
}
