/*
 * Linear memory kept from one run to the next in a worker. A fresh instance of a guest otherwise gets
 * a fresh memory: every page it touches is a page fault (10 µs each on the machines this was
 * measured on, about 1,200 for `python -c pass`), and each dropped memory is external memory that V8
 * collects with full garbage collections. So a core module that defines its one memory is rewritten,
 * before it is compiled, to import it instead; the worker hands each instance a memory it used
 * before, cleared to zeros, as a fresh one would be (nothing of one run is visible to the next).
 */

/** The import module name of a rewritten memory; the field says its limits: `memory:<initial>:<maximum|->`. */
export const MEMORY_MODULE = 'eryx:vfs-run';

/** The limits of a memory, in 64 KiB pages, as the JS API takes them. */
export interface MemoryLimits {
  initial: number;
  maximum?: number;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const IMPORT_SECTION = 2;
const MEMORY_SECTION = 5;

class Reader {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    at: number,
  ) {
    this.at = at;
  }
  byte(): number {
    if (this.at >= this.bytes.length) throw new RangeError('truncated module');
    return this.bytes[this.at++]!;
  }
  /** An unsigned LEB128 of at most 32 bits (the only kind a wasm32 memory's limits use). */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new RangeError('bad LEB128');
  }
  skip(length: number): void {
    if (this.at + length > this.bytes.length) throw new RangeError('truncated module');
    this.at += length;
  }
  /** Limits: a flag byte, the minimum, the maximum if flagged. */
  limits(): { flags: number; initial: number; maximum?: number } {
    const flags = this.byte();
    const initial = this.u32();
    return flags & 1 ? { flags, initial, maximum: this.u32() } : { flags, initial };
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...leb(bytes.length), ...bytes];
}

/** The field name that carries a memory's limits. */
export function memoryField(limits: MemoryLimits): string {
  return `memory:${limits.initial}:${limits.maximum ?? '-'}`;
}

/** The limits a field made by {@link memoryField} carries; undefined for any other name. */
export function parseMemoryField(field: string): MemoryLimits | undefined {
  const match = /^memory:(\d+):(\d+|-)$/.exec(field);
  if (!match) return undefined;
  const initial = Number(match[1]);
  return match[2] === '-' ? { initial } : { initial, maximum: Number(match[2]) };
}

/** Counts the memory imports of an import section's entries (reading past each entry's description). */
function memoryImports(reader: Reader, end: number): number {
  let memories = 0;
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    reader.skip(reader.u32());
    reader.skip(reader.u32());
    const kind = reader.byte();
    if (kind === 0x00) reader.u32();
    else if (kind === 0x01) {
      reader.byte();
      reader.limits();
    } else if (kind === 0x02) {
      reader.limits();
      memories++;
    } else if (kind === 0x03) reader.skip(2);
    else if (kind === 0x04) {
      reader.byte();
      reader.u32();
    } else throw new RangeError(`unknown import kind ${kind}`);
  }
  if (reader.at !== end) throw new RangeError('import section length mismatch');
  return memories;
}

/**
 * The module with its one defined memory turned into an import of {@link MEMORY_MODULE} (same
 * index 0, same limits, still exported under its name), or undefined when the module does not have
 * exactly one plain memory of its own (none, several, an imported one, shared or 64-bit), or cannot
 * be read: such a module is compiled as it is.
 */
export function importMemory(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return undefined;
  try {
    const sections: { id: number; start: number; contentStart: number; end: number }[] = [];
    const reader = new Reader(bytes, 8);
    while (reader.at < bytes.length) {
      const start = reader.at;
      const id = reader.byte();
      const size = reader.u32();
      const contentStart = reader.at;
      reader.skip(size);
      sections.push({ id, start, contentStart, end: reader.at });
    }
    const memory = sections.filter((s) => s.id === MEMORY_SECTION);
    if (memory.length !== 1) return undefined;
    const memoryReader = new Reader(bytes, memory[0]!.contentStart);
    if (memoryReader.u32() !== 1) return undefined;
    const limitsStart = memoryReader.at;
    const limits = memoryReader.limits();
    // Shared (2) and 64-bit (4) memories are left alone.
    if (limits.flags > 1 || memoryReader.at !== memory[0]!.end) return undefined;
    const limitBytes = [...bytes.subarray(limitsStart, memoryReader.at)];
    const entry = [
      ...name(MEMORY_MODULE),
      ...name(
        memoryField({
          initial: limits.initial,
          ...(limits.maximum === undefined ? {} : { maximum: limits.maximum }),
        }),
      ),
      0x02,
      ...limitBytes,
    ];
    const imports = sections.find((s) => s.id === IMPORT_SECTION);
    let importContent: number[];
    if (imports) {
      const importReader = new Reader(bytes, imports.contentStart);
      if (memoryImports(importReader, imports.end) > 0) return undefined;
      const countReader = new Reader(bytes, imports.contentStart);
      const count = countReader.u32();
      importContent = [...leb(count + 1), ...bytes.subarray(countReader.at, imports.end), ...entry];
    } else {
      importContent = [...leb(1), ...entry];
    }
    const importSection = Uint8Array.from([IMPORT_SECTION, ...leb(importContent.length), ...importContent]);
    // The import section goes where it was, else after the type section (id 1), else first.
    const at = imports
      ? imports.start
      : (sections.find((s) => s.id !== 0 && s.id !== 1)?.start ?? bytes.length);
    const parts = [
      bytes.subarray(0, at),
      importSection,
      bytes.subarray(imports ? imports.end : at, memory[0]!.start),
      bytes.subarray(memory[0]!.end),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The JS API's memory and module functions this file uses (the repo's `lib` has no WebAssembly types). */
interface WasmApi {
  Memory: new (limits: MemoryLimits) => { readonly buffer: ArrayBuffer };
  Module: { imports(module: object): { module: string; name: string; kind: string }[] };
  instantiate(module: object, imports: object): Promise<object>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Memories larger than this after a run are dropped rather than cleared and kept (host memory). */
export const REUSE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The memories of one worker's rewritten modules: one idle memory per module, handed to the next
 * instance of it, cleared first. Modules are known by a key the caller gives ({@link MemoryPool.track}):
 * a module posted to a worker arrives as a new object with each message. `instantiate` is what jco's
 * generated `instantiate` takes as `instantiateCore`.
 */
export class MemoryPool {
  readonly #idle = new Map<string, { readonly buffer: ArrayBuffer }>();
  readonly #specs = new Map<string, { field: string; limits: MemoryLimits } | null>();
  readonly #keys = new WeakMap<object, string>();
  #inUse: [string, { readonly buffer: ArrayBuffer }][] = [];
  /** Memories of finished runs, not yet zeroed. */
  readonly #dirty = new Map<string, { readonly buffer: ArrayBuffer }>();
  #clearing: NodeJS.Immediate | undefined;

  /** Names `module` by `key` (the same for every copy of one compiled module); returns the module. */
  track<T extends object>(module: T, key: string): T {
    this.#keys.set(module, key);
    return module;
  }

  /** As `WebAssembly.instantiate(module, imports)`, with a kept memory for a rewritten, tracked module. */
  readonly instantiate = (module: object, imports: object = {}): Promise<object> => {
    const key = this.#keys.get(module);
    const spec = key === undefined ? null : this.#spec(key, module);
    if (key === undefined || !spec) return wasm.instantiate(module, imports);
    if (this.#dirty.has(key)) this.#clear();
    let memory = this.#idle.get(key);
    this.#idle.delete(key);
    memory ??= new wasm.Memory(spec.limits);
    this.#inUse.push([key, memory]);
    return wasm.instantiate(module, { ...imports, [MEMORY_MODULE]: { [spec.field]: memory } });
  };

  /**
   * Called when the instances made since the last call are done with: each memory they used is kept
   * for the next instance of its module, to be zeroed first (soon after, when the worker is idle, or
   * at the latest when it is handed out), unless it grew past {@link REUSE_MAX_BYTES} (then it is
   * left to the garbage collector). A worker that ends first never pays for the clearing.
   */
  recycle(): void {
    for (const [key, memory] of this.#inUse.splice(0)) {
      if (memory.buffer.byteLength <= REUSE_MAX_BYTES) this.#dirty.set(key, memory);
    }
    if (this.#dirty.size > 0 && !this.#clearing) {
      this.#clearing = setImmediate(() => this.#clear());
      this.#clearing.unref();
    }
  }

  /** Zeroes the memories runs left, and makes them available. */
  #clear(): void {
    if (this.#clearing) clearImmediate(this.#clearing);
    this.#clearing = undefined;
    for (const [key, memory] of this.#dirty) {
      new Uint8Array(memory.buffer).fill(0);
      this.#idle.set(key, memory);
    }
    this.#dirty.clear();
  }

  #spec(key: string, module: object): { field: string; limits: MemoryLimits } | null {
    let spec = this.#specs.get(key);
    if (spec === undefined) {
      spec = null;
      for (const entry of wasm.Module.imports(module)) {
        const limits =
          entry.module === MEMORY_MODULE && entry.kind === 'memory'
            ? parseMemoryField(entry.name)
            : undefined;
        if (limits) spec = { field: entry.name, limits };
      }
      this.#specs.set(key, spec);
    }
    return spec;
  }
}
