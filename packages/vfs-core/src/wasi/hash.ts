import type { MetadataHashValue } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';

/*
 * The metadata hash (the preview1 adapter's inode numbers): cyrb128, a fast non-cryptographic hash
 * with four multiplicative 32-bit lanes, over the mount's guest path, then the file's path and the
 * two 32-bit words of its creation time. Only identity is at stake, and the adapter asks for it for
 * every `stat` and every directory entry, so no key string is built (formatting the creation time
 * as text was most of the cost) and each half keeps 53 bits, to be one `BigInt` of a safe integer.
 */

/** The lanes being mixed (a scratch: one hash at a time in a thread). */
const lanes = new Int32Array(4);
const created = new Float64Array(1);
const createdWords = new Uint32Array(created.buffer);

/** Takes `text`, a 0 (no character of it), then the first `words` words of the creation time into the lanes. */
function absorb(text: string, words: number): void {
  let h1 = lanes[0]!;
  let h2 = lanes[1]!;
  let h3 = lanes[2]!;
  let h4 = lanes[3]!;
  const length = text.length;
  for (let i = 0; i <= length + words; i++) {
    const k = i < length ? text.charCodeAt(i) : i === length ? 0 : createdWords[i - length - 1]!;
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  lanes[0] = h1;
  lanes[1] = h2;
  lanes[2] = h3;
  lanes[3] = h4;
}

/** The lanes once they have taken in a mount's guest path: the same path in two mounts differs. */
export function hashSeed(guestPath: string): Int32Array {
  lanes.set([1779033703, 3144134277, 1013904242, 2773480762]);
  absorb(guestPath, 0);
  return lanes.slice();
}

/** The metadata hash of the file at `path` (of the mount `seed` belongs to) created at `createdMs`. */
export function metadataHash(seed: Int32Array, path: string, createdMs: number): MetadataHashValue {
  lanes.set(seed);
  created[0] = createdMs;
  absorb(path, 2);
  let h1 = lanes[0]!;
  let h2 = lanes[1]!;
  let h3 = lanes[2]!;
  let h4 = lanes[3]!;
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return {
    upper: BigInt((h1 & 0x1fffff) * 0x1_0000_0000 + (h2 >>> 0)),
    lower: BigInt((h3 & 0x1fffff) * 0x1_0000_0000 + (h4 >>> 0)),
  };
}
