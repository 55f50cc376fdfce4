import { performance } from 'node:perf_hooks';

/**
 * Time spent inside a filesystem's own code during each phase of a gated guest (`gate=1`).
 *
 * The guest-level phases are mostly jco's glue (the same code whichever filesystem is plugged in),
 * so on metadata-heavy phases the two filesystems' part is a few percent of the phase, smaller
 * than the phase's noise. This clock measures that part alone: every method of the filesystem's
 * `Descriptor` and `DirectoryEntryStream`, and of the streams its descriptors open on files, is
 * wrapped in place to add the time of its outermost call to the running total. A phase runs from
 * the guest's gate read (its stdin) to its report (its first stdout write after the gate).
 *
 * The wrapping costs both filesystems the same (two `performance.now()` per call, one of them
 * inside the measured interval), so it biases the ratio towards 1, never away from it.
 *
 * A guest transpiled with `--import-bindings hybrid` calls a filesystem's direct lowerings
 * (`Symbol.for('cabiLower')`) instead of its methods: those are wrapped alike. A lowering gets
 * handles, not objects, so it cannot tell a file's stream from stdio's: its calls are all timed,
 * which adds nothing to a phase, since stdio is only used at its two ends (the gate's read, whose
 * wait before the go is left out, and the report, which ends the phase).
 */
export class FilesystemClock {
  /** Milliseconds inside the filesystem, one entry per phase reported, in order. */
  readonly phases: number[] = [];
  #inPhase = false;
  #total = 0;
  #phaseStart = 0;

  /** @param now The time in milliseconds (a test's own clock; `performance.now` by default). */
  constructor(readonly now: () => number = () => performance.now()) {}

  /** The guest is about to start a phase (it read its go). */
  phaseStarted(): void {
    this.#inPhase = true;
    this.#total = 0;
    this.#phaseStart = this.now();
  }

  /** The guest reported (a stdout write): the phase it had started, if any, is over. */
  phaseEnded(): void {
    if (!this.#inPhase) return;
    this.#inPhase = false;
    this.phases.push(this.#total);
  }

  /**
   * @internal Called by the wrappers with the start and end of a call: only what falls within the
   * phase counts (the gate's read waits for the go, and the phase starts as it returns).
   */
  add(started: number, ended: number): void {
    if (this.#inPhase) this.#total += ended - Math.max(started, this.#phaseStart);
  }
}

/** The clock the wrapped methods report to: the run in progress (a process runs one at a time). */
let current: FilesystemClock | undefined;
/** Depth of wrapped calls in progress: only the outermost is timed (one method may call another). */
let depth = 0;
/** Streams a wrapped descriptor opened on a file (stdio streams share their class, and are not timed). */
const fileStreams = new WeakSet<object>();
const instrumented = new WeakSet<object>();

/** Makes `clock` the one the wrapped methods report to, until the next call. */
export function useClock(clock: FilesystemClock | undefined): void {
  current = clock;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** The descriptor methods that open a stream on a file. */
const STREAM_OPENERS = new Set<PropertyKey>(['readViaStream', 'writeViaStream', 'appendViaStream']);

function timed(method: Method, onlyFileStreams: boolean, opensStream: boolean): Method {
  return function (this: unknown, ...args: unknown[]) {
    if (depth > 0 || current === undefined || (onlyFileStreams && !fileStreams.has(this as object))) {
      return method.apply(this, args);
    }
    const clock = current;
    depth++;
    const started = clock.now();
    let result: unknown;
    try {
      result = method.apply(this, args);
    } finally {
      clock.add(started, clock.now());
      depth--;
    }
    if (opensStream && typeof result === 'object' && result !== null) fileStreams.add(result);
    return result;
  };
}

const CABI_LOWER = Symbol.for('cabiLower');
type Lowering = (context: unknown) => (...args: unknown[]) => unknown;

/** A lowering whose functions report to the clock, as {@link timed} methods do. */
function timedLowering(lowering: Lowering): Lowering {
  return (context) => {
    const lowered = lowering(context);
    return (...args: unknown[]) => {
      if (depth > 0 || current === undefined) return lowered(...args);
      const clock = current;
      depth++;
      const started = clock.now();
      try {
        return lowered(...args);
      } finally {
        clock.add(started, clock.now());
        depth--;
      }
    };
  };
}

function wrapMethods(prototype: object, onlyFileStreams: boolean): void {
  if (instrumented.has(prototype)) return;
  instrumented.add(prototype);
  const target = prototype as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(prototype)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    if (typeof descriptor?.value !== 'function') continue;
    const method = descriptor.value as Method & { [CABI_LOWER]?: Lowering };
    const wrapped = timed(method, onlyFileStreams, STREAM_OPENERS.has(key)) as Method & {
      [CABI_LOWER]?: Lowering;
    };
    if (method[CABI_LOWER]) wrapped[CABI_LOWER] = timedLowering(method[CABI_LOWER]);
    target[key] = wrapped;
  }
}

/**
 * Wraps, in place and once per process, the methods of a `wasi:filesystem/types` import's
 * `Descriptor` and `DirectoryEntryStream`, and of the stream classes the descriptors return, so
 * that they report to the clock given to {@link useClock}.
 */
export function instrumentFilesystem(
  types: Record<string, unknown>,
  streams: { InputStream: { prototype: object }; OutputStream: { prototype: object } },
): void {
  for (const name of ['Descriptor', 'DirectoryEntryStream']) {
    const type = types[name] as { prototype?: object } | undefined;
    if (!type?.prototype) throw new Error(`wasi:filesystem/types has no ${name} class`);
    wrapMethods(type.prototype, false);
  }
  wrapMethods(streams.InputStream.prototype, true);
  wrapMethods(streams.OutputStream.prototype, true);
}
