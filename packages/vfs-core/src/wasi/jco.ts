/**
 * Everything the host relies on of jco's private internals, for the direct lowerings of lower.ts
 * (components transpiled with `jco transpile --import-bindings hybrid`), checked at run time.
 *
 * What jco 1.x does, and preview2-shim's own lowerings also rely on:
 * - it asks each imported function for `Symbol.for('cabiLower')` while instantiating and, where
 *   there is one, calls it with `{ memory, realloc, resourceTables }` and lets the core module call
 *   the function it returns, with the canonical ABI's flat arguments;
 * - a handle table is an array of (scope, rep) pairs: entry 0 heads the free list (with bit 30
 *   set), entry 1 is 0, an owned handle has bit 30 set in its rep, a free slot holds the next free
 *   index (bit 30 set) and rep 0; a call gets its tables in jco's own order of resource types;
 * - its glue reads an object's rep from `Symbol.for('cabiRep')`, makes a stand-in (the class's
 *   prototype with an own `cabiRep`) for a handle it did not hand out, and disposes such a handle
 *   through `Class[Symbol.for('cabiDispose')](rep)`.
 *
 * Nothing is touched at import. {@link offerLowerings} (at the first host) defines the
 * `cabiLower` getters; the first lowering request then gives the resource classes their reps and
 * makes their other methods accept stand-ins. Each request first checks the tables it is handed:
 * when they are not laid out as above (another jco), the host warns once and stops offering
 * lowerings, so that every later instance goes through jco's glue. jco asks before the host sees a
 * table and cannot be refused, so the function of the request that found the layout traps when
 * called, rather than read a table it does not understand.
 */

/** The property jco's glue reads for an object's rep, and defines on the stand-ins it makes. */
const CABI_REP: unique symbol = Symbol.for('cabiRep') as never;
const CABI_LOWER = Symbol.for('cabiLower');
const CABI_DISPOSE = Symbol.for('cabiDispose');
/** jco keeps the ownership flag (and a free slot's mark) in bit 30 of a table entry. */
const T_FLAG = 1 << 30;
/** Reps stay below the flag. */
const MAX_REP = T_FLAG - 1;

/** A trap, as the glue's own checks raise it (Node's types leave WebAssembly out). */
export const RuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } })
  .WebAssembly.RuntimeError;

/** A WebAssembly memory, as much of it as is used here. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** One instance's handle table for one resource type. */
export type HandleTable = number[];

/** What jco passes to a `cabiLower` function, once checked. */
export interface LowerContext {
  memory: WasmMemory;
  realloc?: (oldPtr: number, oldSize: number, align: number, newSize: number) => number;
  resourceTables: HandleTable[];
}

type Resource = abstract new (...args: never[]) => object;
type Lowering = (context: LowerContext) => (...args: never[]) => unknown;

// ---- Reps ----------------------------------------------------------------------------------------
// A lowering only gets a table: it must find the object from the rep alone. So the resources name
// their own rep, and these map reps back to objects. Until a component asks for a lowering nothing
// is assigned and jco numbers the objects itself, so the default bindings pay nothing for this.

/** Rep -> object. Weak: what keeps an object alive is the guest's handle (see `hold`). */
const live = new Map<number, WeakRef<object>>();
/** Drops the entries of objects collected without being disposed (left open when a guest ended). */
const collected = new FinalizationRegistry<number>((rep) => {
  if (live.get(rep)?.deref() === undefined) live.delete(rep);
});
/** Objects whose only handle is in a table (a lowering made it): held while that table lives. */
const holders = new WeakMap<object, Map<number, object>>();
const holderOf = new WeakMap<object, Map<number, object>>();
/** Object -> its rep, once assigned. */
const reps = new WeakMap<object, number>();
let lastRep = 0;

function repOf(object: object): number {
  let rep = reps.get(object);
  if (rep !== undefined) return rep;
  do {
    lastRep = lastRep >= MAX_REP ? 1 : lastRep + 1;
  } while (live.has(lastRep));
  rep = lastRep;
  reps.set(object, rep);
  live.set(rep, new WeakRef(object));
  collected.register(object, rep, object);
  return rep;
}

/** Forgets a disposed resource's rep (a no-op while no component uses lowerings). */
export function releaseRep(object: object): void {
  const rep = reps.get(object);
  if (rep === undefined) return;
  reps.delete(object);
  live.delete(rep);
  collected.unregister(object);
  holderOf.get(object)?.delete(rep);
}

function objectOfRep(rep: number): object | undefined {
  return live.get(rep)?.deref();
}

/** The real object behind `value`, which may be a stand-in jco's glue made for a lowering's handle. */
function unwrap<T>(value: T): T {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, CABI_REP)) return value;
  const rep = (value as unknown as Record<typeof CABI_REP, number>)[CABI_REP];
  const object = objectOfRep(rep);
  if (!object) throw new RuntimeError(`resource ${rep} was already dropped`);
  return object as T;
}

// ---- Tables --------------------------------------------------------------------------------------

/** The object a borrowed (or owned) `handle` of `table` stands for; a trap when there is none. */
export function target<T>(table: HandleTable, handle: number): T {
  const rep = (table[(handle << 1) + 1] ?? 0) & ~T_FLAG;
  const object = rep === 0 ? undefined : objectOfRep(rep);
  if (object === undefined) throw new RuntimeError(`unknown handle index ${handle}`);
  return object as T;
}

/**
 * A new owned handle in `table` for `object`, made as jco makes one (free list first). The object
 * is held as long as the table lives, or until it is disposed: the handle is all the guest has of
 * it, and jco's glue does not know it.
 */
export function ownHandle(table: HandleTable, object: object): number {
  const rep = repOf(object);
  let held = holders.get(table);
  if (!held) {
    held = new Map();
    holders.set(table, held);
  }
  held.set(rep, object);
  holderOf.set(object, held);
  (table as { _createdReps?: Set<number> })._createdReps?.add(rep);
  const free = (table[0] ?? 0) & ~T_FLAG;
  if (free === 0) {
    table.push(0, rep | T_FLAG);
    return (table.length >> 1) - 1;
  }
  table[0] = table[free << 1]!;
  table[free << 1] = 0;
  table[(free << 1) + 1] = rep | T_FLAG;
  return free;
}

/**
 * Of the two tables a call gets, the one where the borrowed `handle` stands for a `cls`, and the
 * other: decided at the first call with a valid handle, since an instance's tables never change
 * places (jco orders them by its own numbering of resource types, which depends on the component).
 */
export function tablesBy(
  tables: HandleTable[],
  cls: Resource,
): (handle: number) => [HandleTable, HandleTable] {
  let pair: [HandleTable, HandleTable] | undefined;
  return (handle) => {
    if (pair) return pair;
    const [a, b = a] = tables as [HandleTable, HandleTable?];
    for (const [own, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const rep = (own[(handle << 1) + 1] ?? 0) & ~T_FLAG;
      if (rep !== 0 && objectOfRep(rep) instanceof cls) {
        pair = [own, other];
        return pair;
      }
    }
    throw new RuntimeError(`unknown handle index ${handle}`);
  };
}

/** Why `table` is not laid out as jco 1.x lays out a handle table, or `undefined` when it is. */
function tableProblem(table: unknown): string | undefined {
  if (!Array.isArray(table)) return 'a handle table is not an array';
  if (table.length < 2 || table.length % 2 !== 0) return `a handle table has ${table.length} entries`;
  const head = table[0] as unknown;
  if (typeof head !== 'number' || (head & T_FLAG) === 0 || (head & ~T_FLAG) >= table.length >> 1) {
    return 'entry 0 of a handle table is not the head of its free list';
  }
  if (table[1] !== 0) return 'entry 1 of a handle table is not 0';
  for (let i = 2; i < table.length; i++) {
    const entry = table[i] as unknown;
    if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 0 || entry > 0x7fffffff) {
      return 'a handle table holds something other than scopes and reps';
    }
  }
  const created = (table as { _createdReps?: unknown })._createdReps;
  if (created !== undefined && !(created instanceof Set)) return "a handle table's _createdReps is not a Set";
  return undefined;
}

/** Why `context` is not what jco 1.x passes to `cabiLower`, or `undefined` when it is. */
function contextProblem(context: unknown): string | undefined {
  const { memory, realloc, resourceTables } = (context ?? {}) as Record<string, unknown>;
  if (!Array.isArray(resourceTables) || resourceTables.length === 0) return 'no resourceTables';
  const buffer: unknown = (memory as WasmMemory | undefined)?.buffer;
  if (!(buffer instanceof ArrayBuffer || buffer instanceof SharedArrayBuffer)) return 'no memory';
  if (realloc !== undefined && typeof realloc !== 'function') return 'realloc is not a function';
  for (const table of resourceTables) {
    const problem = tableProblem(table);
    if (problem) return problem;
  }
  return undefined;
}

// ---- Offering lowerings --------------------------------------------------------------------------

/** What the host can lower: built once, at the first host. */
export interface LoweringSet {
  /** The resource classes whose objects a lowering may hand to the guest. */
  classes: readonly Resource[];
  /** Each function and how to lower it. */
  lowerings: ReadonlyArray<readonly [fn: object, lower: Lowering]>;
}

let state: 'unoffered' | 'offered' | 'enabled' | 'off' = 'unoffered';

/**
 * Defines `Symbol.for('cabiLower')` on the functions of `make()` (once: later calls do nothing).
 * Read by jco when it instantiates a component with hybrid bindings; `undefined` once the host
 * met a table layout it does not know.
 */
export function offerLowerings(make: () => LoweringSet): void {
  if (state !== 'unoffered') return;
  state = 'offered';
  const { classes, lowerings } = make();
  const lowered = new Set(lowerings.map(([fn]) => fn));
  for (const [fn, lower] of lowerings) {
    const request = (context: LowerContext) => {
      const problem = state === 'off' ? 'the lowerings are off' : contextProblem(context);
      if (problem !== undefined) return refuse(problem);
      if (state === 'offered') enable(classes, lowered);
      return lower(context);
    };
    Object.defineProperty(fn, CABI_LOWER, {
      get: () => (state === 'off' ? undefined : request),
      configurable: true,
    });
  }
}

/** Stops offering lowerings, with one warning; the refused request's function traps. */
function refuse(problem: string): () => never {
  if (state !== 'off') {
    state = 'off';
    process.emitWarning(
      `jco handed the WASI host a handle table it does not know (${problem}): the direct lowerings ` +
        "of --import-bindings hybrid are off, and later instances use jco's glue. The instance " +
        'being created traps if it calls the function that was being lowered; instantiate again.',
      { type: 'EryxVfsWarning', code: 'ERYX_VFS_JCO_LAYOUT' },
    );
  }
  return () => {
    throw new RuntimeError(
      `not lowered: jco's handle tables are not laid out as the WASI host expects (${problem})`,
    );
  };
}

/**
 * At the first lowering: from then on every resource names its rep for jco's tables, jco disposes
 * by rep what its glue never saw, and the methods left to the glue (without a lowering) accept the
 * stand-ins it makes for handles a lowering created, for themselves and their resource arguments.
 * The lowered methods stay as they are, so the default bindings, which call them through the glue,
 * pay nothing for this.
 */
function enable(classes: readonly Resource[], lowered: ReadonlySet<object>): void {
  state = 'enabled';
  for (const cls of classes) {
    const prototype = cls.prototype as Record<string, unknown>;
    Object.defineProperty(prototype, CABI_REP, {
      get(this: object) {
        return repOf(this);
      },
      configurable: true,
    });
    (cls as unknown as Record<symbol, (rep: number) => void>)[CABI_DISPOSE] = (rep) => {
      (objectOfRep(rep) as Disposable | undefined)?.[Symbol.dispose]();
    };
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = prototype[name];
      if (name === 'constructor' || typeof method !== 'function') continue;
      if (lowered.has(method) || CABI_LOWER in method) continue;
      const wrapped = function (this: object, ...args: unknown[]) {
        return (method as (...a: unknown[]) => unknown).apply(unwrap(this), args.map(unwrap));
      };
      Object.defineProperty(wrapped, 'name', { value: name });
      prototype[name] = wrapped;
    }
  }
}
