/**
 * Representations ("reps") of the host's resources for jco's handle tables, needed once a component
 * was transpiled with `--import-bindings hybrid` (see lower.ts).
 *
 * jco keeps, per instance, a table of handles whose entries hold a rep, and, for objects that went
 * through its generated glue, a map from rep to object. A direct lowering only gets the table: it
 * must find the object from the rep alone. So our resources name their own rep
 * (`Symbol.for('cabiRep')`, which jco's glue reads when it hands an object to the guest) and this
 * module maps reps back to objects. Until a component asks for a lowering nothing is assigned and
 * jco numbers the objects itself, so the default `js` bindings pay nothing for this.
 */

/** The property jco's glue reads for an object's rep, and defines on the stand-ins it makes. */
export const CABI_REP: unique symbol = Symbol.for('cabiRep') as never;

/** A trap, as the glue's own checks raise it (Node's types leave WebAssembly out). */
export const RuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } })
  .WebAssembly.RuntimeError;

/** jco keeps the ownership flag in bit 30 of a table entry: reps stay below it. */
const MAX_REP = (1 << 30) - 1;

/** Rep -> object. Weak: what keeps an object alive is the guest's handle (see {@link hold}). */
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
let enabled = false;

/** Called when a component asks for a lowering: from then on every resource gets a rep of ours. */
export function enableReps(): void {
  enabled = true;
}

/** The rep of a resource, assigned at the first ask; 0 (jco then numbers it) while no component uses lowerings. */
function repOf(object: object): number {
  // Until then nothing has a rep: the default bindings never pay for a lookup.
  if (!enabled) return 0;
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

/** Gives a resource class its rep, where jco's glue reads it (`Symbol.for('cabiRep')`). */
export function defineRep(prototype: object): void {
  Object.defineProperty(prototype, CABI_REP, {
    get(this: object) {
      return repOf(this);
    },
    configurable: true,
  });
}

/** Forgets a disposed resource's rep. */
export function releaseRep(object: object): void {
  if (!enabled) return;
  const rep = reps.get(object);
  if (rep === undefined) return;
  reps.delete(object);
  live.delete(rep);
  collected.unregister(object);
  holderOf.get(object)?.delete(rep);
}

/** The object of a rep, or `undefined` when it was disposed. */
export function objectOfRep(rep: number): object | undefined {
  return live.get(rep)?.deref();
}

/**
 * Keeps `object` alive as long as `table` (one instance's handle table) is, or until it is
 * disposed: a handle a lowering made is all the guest has of it, and jco's glue does not know it.
 */
export function hold(table: object, rep: number, object: object): void {
  let held = holders.get(table);
  if (!held) {
    held = new Map();
    holders.set(table, held);
  }
  held.set(rep, object);
  holderOf.set(object, held);
}

/**
 * The real object behind `value`: jco's glue calls a method on a stand-in (an object of the class's
 * prototype with only a rep) when a lowering made the handle.
 */
export function unwrap<T extends object>(value: T): T {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, CABI_REP)) return value;
  const rep = (value as Record<typeof CABI_REP, number>)[CABI_REP];
  const object = objectOfRep(rep);
  if (!object) throw new RuntimeError(`resource ${rep} was already dropped`);
  return object as T;
}
