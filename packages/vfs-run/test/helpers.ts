import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@bytecodealliance/jco-transpile/wasm-tools';
import { ensureDist } from '@eryx/test-servers';
import { afterAll } from 'vitest';

// The guest worker loads the built package: the tests use the built package throughout.
ensureDist(fileURLToPath(new URL('..', import.meta.url)));
export const api = (await import(
  new URL('../dist/index.js', import.meta.url).href
)) as typeof import('../src/index.js');

/** A committed guest component (guests/src/<name>.c). */
export function fixture(name: 'notes' | 'escape' | 'fs_test' | 'sqlite_guest' | 'bench'): string {
  return fileURLToPath(new URL(`../../../guests/fixtures/${name}.component.wasm`, import.meta.url));
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary directory, removed after the file's tests. */
export function tempDir(prefix = 'vfs-run-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** One transpile cache for the whole test file (a first run transpiles, later runs reuse it). */
export const cacheDir = tempDir('vfs-run-cache-');

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * A WASI preview1 core module, in WAT, whose `_start` runs `body`. Memory: 0 holds an iovec of
 * "spinning\n" (at 100), 8 an iovec of "unstored data" (at 200), 16 a written-count slot, 20 the
 * fd `$open` returns; 300 holds "out.txt". Calls: `$fd_write`, `$fd_read`, `$path_open`,
 * `$fd_filestat_get`, `$proc_exit`.
 */
export function preview1(body: string): Promise<Uint8Array> {
  return parse(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_open"
      (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "\\64\\00\\00\\00\\09\\00\\00\\00")
    (data (i32.const 8) "\\c8\\00\\00\\00\\0d\\00\\00\\00")
    (data (i32.const 100) "spinning\\n")
    (data (i32.const 200) "unstored data")
    (data (i32.const 300) "out.txt")
    (func (export "_start") ${body}))`);
}

/** A WASI 0.2 command component (in WAT) whose `run` returns ok, or its error when `fails`. */
export function command(fails: boolean): Promise<Uint8Array> {
  return parse(`(component
    (core module $m (func (export "run") (result i32) i32.const ${fails ? 1 : 0}))
    (core instance $i (instantiate $m))
    (func $run (result (result)) (canon lift (core func $i "run")))
    (instance $inst (export "run" (func $run)))
    (export "wasi:cli/run@0.2.0" (instance $inst)))`);
}

/** WAT: prints "spinning\n" to stdout. */
export const PRINT = '(drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))';
/** WAT: creates /out.txt in the first preopen (fd 3) and writes "unstored data" to it. */
export const WRITE_FILE = `(drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 7) (i32.const 1)
    (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 20)))
  (drop (call $fd_write (i32.load (i32.const 20)) (i32.const 8) (i32.const 1) (i32.const 16)))`;
/** WAT: loops forever without calling the host. */
export const SPIN = '(loop $l (br $l))';
/** WAT: loops forever, asking the host for the opened file's metadata each time. */
export const SPIN_CALLING_HOST =
  '(loop $l (drop (call $fd_filestat_get (i32.load (i32.const 20)) (i32.const 400))) (br $l))';
/** WAT: copies stdin to stdout, 64 bytes at a time (iovec at 32 -> buffer at 512). */
export const ECHO = `(i32.store (i32.const 32) (i32.const 512))
  (i32.store (i32.const 36) (i32.const 64))
  (block $done (loop $l
    (br_if $done (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 16)))
    (br_if $done (i32.eqz (i32.load (i32.const 16))))
    (i32.store (i32.const 40) (i32.const 512))
    (i32.store (i32.const 44) (i32.load (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 16)))
    (br $l)))`;
