import { VfsError } from '../errors.js';
import { isUint8Array } from '../storage.js';

/**
 * A compiled set of secrets and the masks that replace them. Every mask has the length of what it
 * replaces, so scrubbing never moves a byte; see {@link maskFor}.
 */
export interface SecretSet {
  /** The secrets, as bytes, deduplicated. */
  readonly secrets: readonly Uint8Array[];
  /** Length of the longest secret. */
  readonly maxLength: number;
  /** Length of the shortest secret. */
  readonly minLength: number;
  /** The replacement text as bytes. */
  readonly replacement: Uint8Array;
  /** The fill byte. */
  readonly fill: number;
}

const encoder = new TextEncoder();

function bad(message: string): VfsError {
  return new VfsError('invalid-argument', `scrub: ${message}`);
}

const show = (bytes: Uint8Array) => JSON.stringify(Buffer.from(bytes).toString('utf8'));

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

const contains = (haystack: Uint8Array, needle: Uint8Array) => indexOf(haystack, needle) !== -1;

function startsWith(a: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

function endsWith(a: Uint8Array, suffix: Uint8Array): boolean {
  const at = a.length - suffix.length;
  if (at < 0) return false;
  for (let i = 0; i < suffix.length; i++) if (a[at + i] !== suffix[i]) return false;
  return true;
}

/** The longest proper suffix of `a` that is also a prefix of `b` (0 when none). */
function overlap(a: Uint8Array, b: Uint8Array): number {
  for (let k = Math.min(a.length, b.length) - 1; k > 0; k--) {
    if (startsWith(b, a.subarray(a.length - k))) return k;
  }
  return 0;
}

/**
 * Validates and compiles the secrets, the replacement and the fill character.
 *
 * Refused with `invalid-argument`: no secrets; an empty secret; a secret containing NUL (file gaps
 * and `setSize` extensions are zeros and could complete it); two secrets of which one contains the
 * other or where a suffix of one is a prefix of the other (matches could overlap ambiguously; a
 * secret may overlap itself); an empty replacement or one containing NUL; a fill that is not one
 * printable ASCII character; and any secret that could be completed by a mask together with the
 * bytes around it (it contains the replacement or a run of fill characters as long as the shortest
 * secret, starts or ends with the fill, is part of the replacement followed by fills, or starts with
 * a suffix or ends with a prefix of the replacement). The last rule is what lets one pass of masking
 * leave no secret behind: a mask never takes part in an occurrence.
 */
export function compileSecrets(
  secrets: readonly (string | Uint8Array)[],
  replacement: string,
  fill: string,
): SecretSet {
  if (!Array.isArray(secrets) || secrets.length === 0) throw bad('secrets must be a non-empty array');
  const unique = new Map<string, Uint8Array>();
  for (const secret of secrets) {
    let bytes: Uint8Array;
    if (typeof secret === 'string') bytes = encoder.encode(secret);
    else if (isUint8Array(secret)) bytes = Uint8Array.from(secret);
    else throw bad('each secret must be a string or a Uint8Array');
    if (bytes.length === 0) throw bad('a secret must not be empty');
    if (bytes.includes(0)) throw bad(`secret ${show(bytes)} contains NUL`);
    unique.set(Buffer.from(bytes).toString('hex'), bytes);
  }
  const list = [...unique.values()];
  for (const a of list) {
    for (const b of list) {
      if (a === b) continue;
      if (contains(a, b)) throw bad(`secret ${show(a)} contains secret ${show(b)}`);
      const k = overlap(a, b);
      if (k > 0) throw bad(`secrets ${show(a)} and ${show(b)} overlap: matches could overlap ambiguously`);
    }
  }
  if (typeof replacement !== 'string' || replacement.length === 0) {
    throw bad('the replacement must be a non-empty string');
  }
  const r = encoder.encode(replacement);
  if (r.includes(0)) throw bad('the replacement must not contain NUL');
  if (typeof fill !== 'string' || !/^[\x21-\x7e]$/.test(fill)) {
    throw bad('the fill must be one printable ASCII character');
  }
  const f = fill.charCodeAt(0);
  const maxLength = Math.max(...list.map((s) => s.length));
  const minLength = Math.min(...list.map((s) => s.length));
  const fills = (n: number) => new Uint8Array(n).fill(f);
  for (const t of list) {
    const clash = (why: string) =>
      bad(`secret ${show(t)} ${why}, so a mask could complete it; change the secret, replacement or fill`);
    if (t[0] === f || t[t.length - 1] === f)
      throw clash(`starts or ends with the fill ${JSON.stringify(fill)}`);
    if (contains(t, r)) throw clash('contains the replacement');
    if (minLength < r.length && contains(t, fills(minLength))) throw clash('contains a run of fills');
    const tail = new Uint8Array(r.length + t.length);
    tail.set(r);
    tail.fill(f, r.length);
    if (contains(tail, t)) throw clash('is part of the replacement');
    for (let k = 1; k <= r.length; k++) {
      if (startsWith(t, r.subarray(r.length - k))) throw clash('starts with an end of the replacement');
      if (endsWith(t, r.subarray(0, k))) throw clash('ends with a start of the replacement');
    }
  }
  return { secrets: list, maxLength, minLength, replacement: r, fill: f };
}

/**
 * The mask of a run of `n` scrubbed bytes: the replacement followed by fill characters when the run
 * is at least as long as the replacement (`[REDACTED]****`), else `n` fill characters (`****`).
 */
export function maskFor(set: SecretSet, n: number): Uint8Array {
  const out = new Uint8Array(n).fill(set.fill);
  if (n >= set.replacement.length) out.set(set.replacement);
  return out;
}

/**
 * The runs `[start, end)` of `data` covered by occurrences of any secret (overlapping occurrences of
 * one secret merge into one run), sorted.
 */
export function findRuns(set: SecretSet, data: Uint8Array): [number, number][] {
  const found: [number, number][] = [];
  if (data.length < set.minLength) return found;
  for (const secret of set.secrets) {
    for (let at = indexOf(data, secret); at !== -1; at = indexOf(data, secret, at + 1)) {
      found.push([at, at + secret.length]);
    }
  }
  if (found.length === 0) return found;
  found.sort((a, b) => a[0] - b[0]);
  const runs: [number, number][] = [];
  for (const [start, end] of found) {
    const last = runs[runs.length - 1];
    if (last && start < last[1]) last[1] = Math.max(last[1], end);
    else runs.push([start, end]);
  }
  return runs;
}

/** Masks the given runs of `data` in place. */
export function applyMasks(set: SecretSet, data: Uint8Array, runs: readonly [number, number][]): void {
  for (const [start, end] of runs) data.set(maskFor(set, end - start), start);
}

/** `data` with every secret masked: the same array when there is none, else a masked copy. */
export function scrubBytes(set: SecretSet, data: Uint8Array): Uint8Array {
  const runs = findRuns(set, data);
  if (runs.length === 0) return data;
  const copy = Uint8Array.from(data);
  applyMasks(set, copy, runs);
  return copy;
}
