import { concatBytes } from '../chunks.js';
import { isUint8Array } from '../storage.js';
import { isGuestExit } from './errors.js';
import { InputStream, IoError, OutputStream } from './streams.js';

/** What a guest wrote to stdout or stderr, collected in memory. */
export interface CapturedOutput {
  /** Everything written so far. */
  bytes(): Uint8Array;
  /** Everything written so far, decoded as UTF-8. */
  text(): string;
}

/** An output stream that collects what the guest writes, and optionally forwards each chunk. */
export function captureStream(forward?: (chunk: Uint8Array) => void): [OutputStream, CapturedOutput] {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const stream = OutputStream.create({
    write(buffer: Uint8Array): void {
      const chunk = buffer.slice();
      chunks.push(chunk);
      length += chunk.length;
      forward?.(chunk);
    },
  });
  const output: CapturedOutput = {
    bytes: () => concatBytes(chunks, length),
    text() {
      return new TextDecoder().decode(this.bytes());
    },
  };
  return [stream, output];
}

/**
 * Where a guest's stdin comes from when it is not fixed bytes: called each time the guest reads, with
 * the most bytes it asks for. Returns the next bytes (bytes beyond `maxBytes` are kept for the next
 * read), or `null` (or no bytes) at the end of the input. It runs inside the guest's synchronous
 * call, so it may block (a `readSync` of a pipe, an `Atomics.wait`) until input arrives. A throw, or
 * anything but a `Uint8Array` or `null`, is reported to the guest as a failed read (EIO).
 */
export type WasiStdinSource = (maxBytes: number) => Uint8Array | null;

/** The most bytes one read of stdin asks its source for. */
const MAX_STDIN_READ = 1_000_000;

/** An input stream over a {@link WasiStdinSource}. */
export function sourceStream(source: WasiStdinSource): InputStream {
  let pending: Uint8Array | undefined;
  return InputStream.create({
    read(len: number): Uint8Array {
      const max = Math.min(len, MAX_STDIN_READ);
      let chunk: Uint8Array | null;
      if (pending) {
        chunk = pending;
        pending = undefined;
      } else {
        try {
          const given: unknown = source(max);
          if (given === null || given instanceof Uint8Array) chunk = given;
          // Bytes from another realm (a vm context) fail instanceof: view them from this one.
          else if (isUint8Array(given))
            chunk = new Uint8Array(given.buffer, given.byteOffset, given.byteLength);
          else throw new TypeError(`a stdin source must return a Uint8Array or null, got ${typeof given}`);
        } catch (error) {
          if (isGuestExit(error)) throw error;
          throw {
            tag: 'last-operation-failed',
            val: new IoError(error instanceof Error ? error.message : String(error)),
          };
        }
      }
      if (chunk === null || chunk.length === 0) throw { tag: 'closed' };
      if (chunk.length > max) {
        pending = chunk.subarray(max);
        return chunk.slice(0, max);
      }
      return chunk.slice();
    },
  });
}

/** An input stream over fixed bytes; end of stream after the last one. */
export function bytesStream(data: Uint8Array): InputStream {
  let position = 0;
  return sourceStream((max) => {
    if (position >= data.length) return null;
    const chunk = data.subarray(position, position + max);
    position += chunk.length;
    return chunk;
  });
}
