import { releaseRep } from './jco.js';
import { shim } from './shim.js';

/*
 * `wasi:io/streams` and `wasi:io/error` of the host: files, stdout, stderr and stdin are all streams
 * of these classes (jco checks every stream the host returns against the classes it was given). They
 * are the host's own rather than preview2-shim's so that their hottest calls can be lowered directly
 * (lower.ts); pollables stay preview2-shim's, as every stream here is always ready.
 */

/** How a stream failed: `closed`, or an operation failed with an {@link IoError}. */
export type StreamError = { tag: 'closed' } | { tag: 'last-operation-failed'; val: IoError };

type Pollable = ReturnType<ReturnType<typeof shim>['io']['pollableCreate']>;

const CLOSED: StreamError = { tag: 'closed' };

/** How many bytes `check-write` permits: the guest writes at most this much before asking again. */
const WRITE_PERMIT = 1024 * 1024;
/** What the blocking write-and-flush calls accept at most, as the WIT specifies. */
const MAX_BLOCKING_WRITE = 4096;

/** `wasi:io/error`'s `error`: what failed, for a `last-operation-failed` stream error. */
export class IoError {
  readonly #message: string;

  constructor(message: string) {
    this.#message = message;
  }

  toDebugString(): string {
    return this.#message;
  }

  [Symbol.dispose](): void {
    releaseRep(this);
  }
}

/** Where an output stream's bytes go. A failure is thrown as a {@link StreamError}. */
export interface OutputSink {
  write(bytes: Uint8Array): void;
}

/** Where an input stream's bytes come from: at most `max` bytes, at least one, or a thrown `closed`. */
export interface InputSource {
  read(max: number): Uint8Array;
}

function checkedLength(len: bigint, what: string): number {
  if (typeof len !== 'bigint' || len < 0n) throw new RangeError(`${what} must be a u64`);
  return len > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(len);
}

/** `wasi:io/streams`'s `output-stream`, over an {@link OutputSink}. Writes complete at once. */
export class OutputStream {
  #sink: OutputSink | undefined;
  #permit = 0;

  /** @internal Made by the host only. */
  static create(sink: OutputSink): OutputStream {
    const stream = new OutputStream();
    stream.#sink = sink;
    return stream;
  }

  #open(): OutputSink {
    if (this.#sink === undefined) throw CLOSED;
    return this.#sink;
  }

  checkWrite(): bigint {
    this.#open();
    this.#permit = WRITE_PERMIT;
    return BigInt(WRITE_PERMIT);
  }

  write(contents: Uint8Array): void {
    const sink = this.#open();
    // The WIT makes writing beyond the permit a guest error: a trap, as in every host.
    if (contents.length > this.#permit)
      throw new RangeError('write exceeds the permit returned by check-write');
    this.#permit -= contents.length;
    sink.write(contents);
  }

  blockingWriteAndFlush(contents: Uint8Array): void {
    const sink = this.#open();
    if (contents.length > MAX_BLOCKING_WRITE) {
      throw new RangeError(`blocking-write-and-flush accepts at most ${MAX_BLOCKING_WRITE} bytes`);
    }
    sink.write(contents);
  }

  flush(): void {
    this.#open();
  }

  blockingFlush(): void {
    this.#open();
  }

  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(checkedLength(len, 'length')));
  }

  blockingWriteZeroesAndFlush(len: bigint): void {
    this.blockingWriteAndFlush(new Uint8Array(checkedLength(len, 'length')));
  }

  splice(src: InputStream, len: bigint): bigint {
    const sink = this.#open();
    const bytes = src.read(BigInt(Math.min(checkedLength(len, 'length'), WRITE_PERMIT)));
    sink.write(bytes);
    return BigInt(bytes.length);
  }

  blockingSplice(src: InputStream, len: bigint): bigint {
    return this.splice(src, len);
  }

  /** Always ready: every write completes at once. */
  subscribe(): Pollable {
    return shim().io.pollableCreate();
  }

  [Symbol.dispose](): void {
    this.#sink = undefined;
    releaseRep(this);
  }
}

/** `wasi:io/streams`'s `input-stream`, over an {@link InputSource}. Reads block until data comes. */
export class InputStream {
  #source: InputSource | undefined;

  /** @internal Made by the host only. */
  static create(source: InputSource): InputStream {
    const stream = new InputStream();
    stream.#source = source;
    return stream;
  }

  read(len: bigint): Uint8Array {
    const source = this.#source;
    if (source === undefined) throw CLOSED;
    const max = checkedLength(len, 'length');
    return max === 0 ? new Uint8Array(0) : source.read(max);
  }

  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }

  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }

  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }

  /** Always ready: a read blocks until it has data. */
  subscribe(): Pollable {
    return shim().io.pollableCreate();
  }

  [Symbol.dispose](): void {
    this.#source = undefined;
    releaseRep(this);
  }
}
