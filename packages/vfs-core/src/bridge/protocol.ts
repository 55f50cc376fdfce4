import { Buffer } from 'node:buffer';
import { isVfsError, VfsError, type VfsErrorCode } from '../errors.js';
import { OPERATIONS, STORAGE_OPERATIONS, type StorageOperation } from '../operations.js';

/*
 * The wire between the calling thread and the worker: two SharedArrayBuffers. `control` holds a few
 * int32 slots; `data` carries one frame of a message. A message longer than `data` travels as
 * several frames, the receiver acknowledging each one, so payloads of any size pass through a
 * buffer of fixed size. Messages are a small tagged binary encoding; byte arrays travel raw.
 */

/** Slot of `control`: whose turn it is (one of the turn constants below). */
export const STATE = 0;
/** Slot: bytes of the current frame in `data`. */
const LENGTH = 1;
/** Slot: 1 when more frames of the same message follow. */
const MORE = 2;
/** Slots: total message length (low and high 32 bits), set on every frame. */
const TOTAL_LOW = 3;
const TOTAL_HIGH = 4;
/** Slot: bytes of the reason the worker died, stored after the slots. */
const REASON_LENGTH = 5;
const CONTROL_SLOTS = 8;
const REASON_BYTES = 1024;

/** The worker's turn: a frame (or an acknowledgement) from the calling thread waits in `data`. */
export const TO_WORKER = 1;
/** The calling thread's turn. */
export const TO_MAIN = 2;
/** The worker is gone; the control buffer holds a UTF-8 reason. */
export const DEAD = 3;

/**
 * Request operation codes: each storage operation's `code` from {@link OPERATIONS}, plus the
 * bridge's own `close` and `flush` (a durable flush, forwarded to a storage that has one). Code 16
 * was the bridge's `writeMany`, which `writeExtents` replaced: it is never reused.
 */
export const Op = Object.freeze({
  ...(Object.fromEntries(STORAGE_OPERATIONS.map((op) => [op, OPERATIONS[op].code])) as {
    readonly [K in StorageOperation]: number;
  }),
  close: 15,
  flush: 18,
});

/** Codes that once meant something on the wire and must never be given to another operation. */
export const RETIRED_CODES: readonly number[] = Object.freeze([16]);
export type OpCode = number;

/** The storage operation of each request code. */
export const OPERATION_OF_CODE: ReadonlyMap<number, StorageOperation> = new Map(
  STORAGE_OPERATIONS.map((op) => [OPERATIONS[op].code, op]),
);

/** What a message may carry. */
export type Value =
  | undefined
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Value[]
  | { readonly [key: string]: Value };

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_BYTES = 6;
const T_ARRAY = 7;
const T_OBJECT = 8;
/** A signed 64-bit integer (times in nanoseconds); a bigint outside that range cannot be sent. */
const T_BIGINT = 9;

/** Byte arrays at least this long are sent from the caller's memory instead of being copied. */
const INLINE_LIMIT = 4096;

/** An encoded message: parts to send in order, without copying large byte arrays. */
export interface Encoded {
  parts: Uint8Array[];
  length: number;
}

/** Encodes values into parts; large byte arrays become parts of their own (no copy). */
export class Encoder {
  #parts: Uint8Array[] = [];
  #length = 0;
  #buffer = Buffer.allocUnsafe(256);
  #at = 0;

  #reserve(n: number): void {
    if (this.#at + n <= this.#buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#at + n));
    this.#buffer.copy(next, 0, 0, this.#at);
    this.#buffer = next;
  }

  #cut(): void {
    if (this.#at === 0) return;
    this.#parts.push(this.#buffer.subarray(0, this.#at));
    this.#length += this.#at;
    this.#buffer = this.#buffer.subarray(this.#at);
    this.#at = 0;
  }

  byte(value: number): this {
    this.#reserve(1);
    this.#buffer[this.#at++] = value;
    return this;
  }

  value(value: Value): this {
    if (value === undefined) return this.byte(T_UNDEFINED);
    if (value === null) return this.byte(T_NULL);
    if (value === false) return this.byte(T_FALSE);
    if (value === true) return this.byte(T_TRUE);
    if (typeof value === 'number') {
      this.#reserve(9);
      this.#buffer[this.#at] = T_NUMBER;
      this.#buffer.writeDoubleLE(value, this.#at + 1);
      this.#at += 9;
      return this;
    }
    if (typeof value === 'bigint') {
      this.#reserve(9);
      this.#buffer[this.#at] = T_BIGINT;
      this.#buffer.writeBigInt64LE(value, this.#at + 1);
      this.#at += 9;
      return this;
    }
    if (typeof value === 'string') {
      const size = Buffer.byteLength(value);
      this.#reserve(5 + size);
      this.#buffer[this.#at] = T_STRING;
      this.#buffer.writeUInt32LE(size, this.#at + 1);
      this.#buffer.write(value, this.#at + 5, 'utf8');
      this.#at += 5 + size;
      return this;
    }
    if (value instanceof Uint8Array) {
      this.#reserve(9);
      this.#buffer[this.#at] = T_BYTES;
      this.#buffer.writeDoubleLE(value.length, this.#at + 1);
      this.#at += 9;
      if (value.length >= INLINE_LIMIT) {
        this.#cut();
        this.#parts.push(value);
        this.#length += value.length;
      } else {
        this.#reserve(value.length);
        this.#buffer.set(value, this.#at);
        this.#at += value.length;
      }
      return this;
    }
    if (Array.isArray(value)) {
      this.#reserve(5);
      this.#buffer[this.#at] = T_ARRAY;
      this.#buffer.writeUInt32LE(value.length, this.#at + 1);
      this.#at += 5;
      for (const item of value as readonly Value[]) this.value(item);
      return this;
    }
    const entries = Object.entries(value as { [key: string]: Value });
    this.#reserve(5);
    this.#buffer[this.#at] = T_OBJECT;
    this.#buffer.writeUInt32LE(entries.length, this.#at + 1);
    this.#at += 5;
    for (const [key, item] of entries) this.value(key).value(item);
    return this;
  }

  finish(): Encoded {
    this.#cut();
    return { parts: this.#parts, length: this.#length };
  }
}

/** Reads values from a message. Byte arrays are views into the message (which the reader owns). */
export class Decoder {
  #at = 0;
  constructor(readonly buffer: Buffer) {}

  byte(): number {
    return this.buffer[this.#at++]!;
  }

  value(): Value {
    const tag = this.byte();
    const b = this.buffer;
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_NUMBER: {
        const n = b.readDoubleLE(this.#at);
        this.#at += 8;
        return n;
      }
      case T_BIGINT: {
        const n = b.readBigInt64LE(this.#at);
        this.#at += 8;
        return n;
      }
      case T_STRING: {
        const size = b.readUInt32LE(this.#at);
        const s = b.toString('utf8', this.#at + 4, this.#at + 4 + size);
        this.#at += 4 + size;
        return s;
      }
      case T_BYTES: {
        const size = b.readDoubleLE(this.#at);
        const start = this.#at + 8;
        this.#at = start + size;
        return new Uint8Array(b.buffer, b.byteOffset + start, size);
      }
      case T_ARRAY: {
        const count = b.readUInt32LE(this.#at);
        this.#at += 4;
        const items: Value[] = [];
        for (let i = 0; i < count; i++) items.push(this.value());
        return items;
      }
      case T_OBJECT: {
        const count = b.readUInt32LE(this.#at);
        this.#at += 4;
        const out: { [key: string]: Value } = {};
        for (let i = 0; i < count; i++) {
          const key = this.value() as string;
          out[key] = this.value();
        }
        return out;
      }
      default:
        throw new VfsError('io', `sync bridge: corrupt message (tag ${tag})`);
    }
  }
}

/** Response status bytes. */
export const OK = 0;
export const FAILED = 1;

/** A {@link VfsError} as it crosses the wire. */
export interface WireError {
  [key: string]: Value;
  code: string;
  text: string;
  path: string | undefined;
  cause: string | undefined;
}

/** Flattens any error into its wire form; non-VfsErrors become `io`. */
export function errorToWire(error: unknown): WireError {
  if (isVfsError(error)) {
    const prefix = `${error.code}: `;
    const suffix = error.path !== undefined ? ` (${error.path})` : '';
    let text = error.message;
    if (text.startsWith(prefix)) text = text.slice(prefix.length);
    if (suffix && text.endsWith(suffix)) text = text.slice(0, -suffix.length);
    return { code: error.code, text, path: error.path, cause: causeText(error.cause) };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { code: 'io', text, path: undefined, cause: causeText(error) };
}

function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** Rebuilds a {@link VfsError} with the same code, path and message; the cause keeps its message. */
export function wireToError(wire: WireError): VfsError {
  return new VfsError(wire.code as VfsErrorCode, wire.text, {
    path: wire.path,
    cause: wire.cause === undefined ? undefined : new Error(wire.cause),
  });
}

/** Both ends of the transport share this shape. */
export interface Shared {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** Allocates the shared buffers; `dataBytes` is the frame size. */
export function allocateShared(dataBytes: number): Shared {
  const control = new SharedArrayBuffer(CONTROL_SLOTS * 4 + REASON_BYTES);
  new Int32Array(control)[STATE] = TO_WORKER;
  return { control, data: new SharedArrayBuffer(dataBytes) };
}

/** Why waiting for the other side ended without an answer. */
export type WaitFailure = { dead: string } | { timedOut: true };

/** One side of the transport. `wait` blocks (calling thread) or awaits (worker) its turn. */
abstract class Endpoint {
  protected readonly control: Int32Array;
  protected readonly reason: Uint8Array;
  protected readonly data: Uint8Array;

  constructor(shared: Shared) {
    this.control = new Int32Array(shared.control, 0, CONTROL_SLOTS);
    this.reason = new Uint8Array(shared.control, CONTROL_SLOTS * 4, REASON_BYTES);
    this.data = new Uint8Array(shared.data);
  }

  /** Puts the next frame of `message` (starting at `sent`) into `data`; returns the new `sent`. */
  protected putFrame(message: Encoded, sent: number, cursor: { part: number; offset: number }): number {
    const capacity = this.data.length;
    let n = 0;
    while (n < capacity && cursor.part < message.parts.length) {
      const part = message.parts[cursor.part]!;
      const take = Math.min(capacity - n, part.length - cursor.offset);
      this.data.set(part.subarray(cursor.offset, cursor.offset + take), n);
      n += take;
      cursor.offset += take;
      if (cursor.offset === part.length) {
        cursor.part++;
        cursor.offset = 0;
      }
    }
    const c = this.control;
    c[LENGTH] = n;
    c[MORE] = sent + n < message.length ? 1 : 0;
    c[TOTAL_LOW] = message.length % 0x100000000;
    c[TOTAL_HIGH] = Math.floor(message.length / 0x100000000);
    return sent + n;
  }

  protected frameLength(): number {
    return this.control[LENGTH]!;
  }

  protected hasMore(): boolean {
    return this.control[MORE] === 1;
  }

  protected total(): number {
    return (this.control[TOTAL_LOW]! >>> 0) + this.control[TOTAL_HIGH]! * 0x100000000;
  }

  protected pass(turn: number): void {
    Atomics.store(this.control, STATE, turn);
    Atomics.notify(this.control, STATE);
  }

  /**
   * Tells the other end this one is gone, with a reason (the serving end: the worker exited or the
   * server closed; the calling end: it gave up). Safe to call from an exit handler.
   */
  die(reason: string): void {
    if (Atomics.load(this.control, STATE) === DEAD) return;
    const bytes = Buffer.from(reason, 'utf8').subarray(0, this.reason.length);
    this.reason.set(bytes, 0);
    this.control[REASON_LENGTH] = bytes.length;
    this.pass(DEAD);
  }
}

/** The calling thread's end: sends a request and blocks until the whole response is in. */
export class CallerEndpoint extends Endpoint {
  /**
   * Blocks until it is the calling thread's turn. Returns a failure when the worker died or did not
   * answer within `timeout` milliseconds.
   */
  wait(timeout: number): WaitFailure | undefined {
    const deadline = performance.now() + timeout;
    for (;;) {
      const result = Atomics.wait(this.control, STATE, TO_WORKER, Math.max(0, deadline - performance.now()));
      const state = Atomics.load(this.control, STATE);
      if (state === DEAD) return this.#dead();
      if (state !== TO_WORKER) return undefined;
      // A wake-up with the state unchanged is the late notify of the worker's previous answer.
      if (result === 'timed-out' || performance.now() >= deadline) return { timedOut: true };
    }
  }

  #dead(): WaitFailure {
    const length = this.control[REASON_LENGTH]!;
    return { dead: Buffer.from(this.reason.subarray(0, length)).toString('utf8') };
  }

  /** Hands the turn to the worker unless it died meanwhile. */
  #hand(): WaitFailure | undefined {
    const previous = Atomics.compareExchange(this.control, STATE, TO_MAIN, TO_WORKER);
    if (previous === DEAD) return this.#dead();
    Atomics.notify(this.control, STATE);
    return undefined;
  }

  /** Sends `message` frame by frame. */
  send(message: Encoded, timeout: number): WaitFailure | undefined {
    const cursor = { part: 0, offset: 0 };
    let sent = 0;
    if (Atomics.load(this.control, STATE) === DEAD) return this.#dead();
    for (;;) {
      sent = this.putFrame(message, sent, cursor);
      const failure = this.#hand() ?? this.wait(timeout);
      if (failure) return failure;
      if (sent >= message.length) return undefined;
    }
  }

  /** Collects the response that is in `data` now (after {@link send}), asking for further frames. */
  receive(timeout: number): Buffer | WaitFailure {
    const out = Buffer.allocUnsafe(this.total());
    let got = 0;
    for (;;) {
      const length = this.frameLength();
      out.set(this.data.subarray(0, length), got);
      got += length;
      if (!this.hasMore()) return out;
      this.control[LENGTH] = 0;
      const failure = this.#hand() ?? this.wait(timeout);
      if (failure) return failure;
    }
  }
}

interface WaitAsyncResult {
  async: boolean;
  value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): WaitAsyncResult })
  .waitAsync;

/**
 * The serving end (the bridge's worker, or any thread that serves a storage with `serveStorage`):
 * awaits requests without blocking its event loop, answers them.
 */
export class WorkerEndpoint extends Endpoint {
  /** Awaits the serving end's turn; `false` once the channel is dead (see {@link die}). */
  async #turn(): Promise<boolean> {
    for (;;) {
      const state = Atomics.load(this.control, STATE);
      if (state === TO_WORKER) return true;
      if (state === DEAD) return false;
      const result = waitAsync(this.control, STATE, state);
      if (result.async) await result.value;
    }
  }

  /** Whether {@link die} was called, by either end. */
  get dead(): boolean {
    return Atomics.load(this.control, STATE) === DEAD;
  }

  /** Awaits the next request and returns it whole; `undefined` once the channel is dead. */
  async receive(): Promise<Buffer | undefined> {
    if (!(await this.#turn())) return undefined;
    const out = Buffer.allocUnsafe(this.total());
    let got = 0;
    for (;;) {
      const length = this.frameLength();
      out.set(this.data.subarray(0, length), got);
      got += length;
      if (!this.hasMore()) return out;
      this.control[LENGTH] = 0;
      this.control[MORE] = 0;
      if (!this.#hand()) return undefined;
      if (!(await this.#turn())) return undefined;
    }
  }

  /**
   * Sends the response frame by frame; returns once the last frame is handed over (`false` when the
   * channel died meanwhile).
   */
  async send(message: Encoded): Promise<boolean> {
    const cursor = { part: 0, offset: 0 };
    let sent = 0;
    for (;;) {
      sent = this.putFrame(message, sent, cursor);
      if (!this.#hand()) return false;
      if (sent >= message.length) return true;
      if (!(await this.#turn())) return false;
    }
  }

  /** Hands the turn to the calling thread unless the channel died meanwhile (a DEAD state stays). */
  #hand(): boolean {
    if (Atomics.compareExchange(this.control, STATE, TO_WORKER, TO_MAIN) !== TO_WORKER) return false;
    Atomics.notify(this.control, STATE);
    return true;
  }
}
