import { parse } from '@bytecodealliance/jco-transpile/wasm-tools';
import { describe, expect, it } from 'vitest';
import { importMemory, MEMORY_MODULE, MemoryPool, REUSE_MAX_BYTES } from '../src/memory.js';

interface Exports {
  memory: { buffer: ArrayBuffer };
  get(address: number): number;
  set(address: number, value: number): void;
  grow(pages: number): number;
  call?(): number;
}
interface Wasm {
  compile(bytes: Uint8Array): Promise<object>;
  validate(bytes: Uint8Array): boolean;
  Module: { imports(module: object): { module: string; name: string; kind: string }[] };
  instantiate(module: object, imports?: object): Promise<{ exports: Exports }>;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

// Address 100 is in no data segment (zero in a fresh memory, as bss is); 200 holds "hi".
const ACCESS = `
  (func (export "get") (param i32) (result i32) local.get 0 i32.load)
  (func (export "set") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)`;
const GUEST = `(module
  (memory (export "memory") 1 2000)
  ${ACCESS}
  (data (i32.const 200) "hi"))`;

async function rewritten(wat: string): Promise<object> {
  const bytes = await parse(wat);
  const out = importMemory(bytes);
  if (!out) throw new Error('not rewritten');
  expect(wasm.validate(out)).toBe(true);
  return wasm.compile(out);
}

describe('importMemory', () => {
  it('turns the one defined memory into an import carrying its limits', async () => {
    const module = await rewritten(GUEST);
    expect(wasm.Module.imports(module)).toEqual([
      { module: MEMORY_MODULE, name: 'memory:1:2000', kind: 'memory' },
    ]);
  });

  it('keeps the other imports and their indices, and a memory without a maximum', async () => {
    const module = await rewritten(`(module
      (import "env" "seven" (func $seven (result i32)))
      (import "env" "g" (global i32))
      (memory 3)
      (func (export "call") (result i32) call $seven global.get 0 i32.add))`);
    expect(wasm.Module.imports(module).map((i) => `${i.module}.${i.name}`)).toEqual([
      'env.seven',
      'env.g',
      `${MEMORY_MODULE}.memory:3:-`,
    ]);
    const pool = new MemoryPool();
    pool.track(module, 'm');
    const { exports } = (await pool.instantiate(module, {
      env: { seven: () => 7, g: 35 },
    })) as { exports: Exports };
    expect(exports.call!()).toBe(42);
  });

  it('leaves alone modules without exactly one plain memory of their own, and non-modules', async () => {
    for (const wat of [
      '(module (func))',
      '(module (import "env" "memory" (memory 1)))',
      '(module (memory 1 2 shared))',
      '(module (memory i64 1))',
    ]) {
      expect(importMemory(await parse(wat)), wat).toBeUndefined();
    }
    expect(importMemory(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 200]))).toBeUndefined();
    expect(importMemory(new TextEncoder().encode('not wasm'))).toBeUndefined();
  });
});

describe('MemoryPool', () => {
  async function instance(pool: MemoryPool, module: object): Promise<Exports> {
    // A posted module arrives as a new object each time: the key is what identifies it.
    pool.track(module, 'guest');
    return ((await pool.instantiate(module, {})) as { exports: Exports }).exports;
  }

  it('hands the next instance the same memory, zeroed, with the data segments written again', async () => {
    const module = await rewritten(GUEST);
    const pool = new MemoryPool();
    const first = await instance(pool, module);
    first.set(100, 0x5ec7e7);
    first.set(200, 0x11111111);
    first.set(60_000, 7);
    expect(first.grow(3)).toBe(1);
    first.set(200_000, 9);
    pool.recycle();
    const second = await instance(pool, module);
    expect(second.memory).toBe(first.memory);
    expect(second.get(100)).toBe(0);
    expect(second.get(60_000)).toBe(0);
    expect(second.get(200_000)).toBe(0);
    expect(new TextDecoder().decode(new Uint8Array(second.memory.buffer, 200, 2))).toBe('hi');
  });

  it('drops a memory that grew past the reuse bound, and never shares one between live instances', async () => {
    const module = await rewritten(GUEST);
    const pool = new MemoryPool();
    const big = await instance(pool, module);
    expect(big.grow(REUSE_MAX_BYTES / 65536)).toBe(1);
    pool.recycle();
    const fresh = await instance(pool, module);
    expect(fresh.memory).not.toBe(big.memory);
    const concurrent = await instance(pool, module);
    expect(concurrent.memory).not.toBe(fresh.memory);
  });

  it('instantiates untracked or unrewritten modules as WebAssembly.instantiate does', async () => {
    const plain = await wasm.compile(await parse(GUEST));
    const pool = new MemoryPool();
    const { exports } = (await pool.instantiate(pool.track(plain, 'plain'), {})) as { exports: Exports };
    expect(exports.get(200) & 0xffff).toBe(0x6968);
  });
});
