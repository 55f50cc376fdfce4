import { concatBytes } from '../chunks.js';
import { io } from './shim.js';

/** What a guest wrote to stdout or stderr, collected in memory. */
export interface CapturedOutput {
  /** Everything written so far. */
  bytes(): Uint8Array;
  /** Everything written so far, decoded as UTF-8. */
  text(): string;
}

/** An output stream that collects what the guest writes, and optionally forwards each chunk. */
export function captureStream(
  forward?: (chunk: Uint8Array) => void,
): [ReturnType<typeof io.outputStreamCreate>, CapturedOutput] {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const stream = io.outputStreamCreate({
    write(buffer: Uint8Array): void {
      const chunk = buffer.slice();
      chunks.push(chunk);
      length += chunk.length;
      forward?.(chunk);
    },
    flush() {},
    blockingFlush() {},
    subscribe: () => io.pollableCreate(),
  });
  const output: CapturedOutput = {
    bytes: () => concatBytes(chunks, length),
    text() {
      return new TextDecoder().decode(this.bytes());
    },
  };
  return [stream, output];
}

/** An input stream over fixed bytes; end of stream after the last one. */
export function bytesStream(data: Uint8Array): ReturnType<typeof io.inputStreamCreate> {
  let position = 0;
  return io.inputStreamCreate({
    blockingRead(len: bigint): Uint8Array {
      if (position >= data.length) throw { tag: 'closed' };
      const end = Math.min(data.length, position + Number(len > 1_000_000n ? 1_000_000n : len));
      const chunk = data.slice(position, end);
      position = end;
      return chunk;
    },
    subscribe: () => io.pollableCreate(),
  });
}
