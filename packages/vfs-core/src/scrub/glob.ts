import { VfsError } from '../errors.js';

const MAX_ALTERNATIVES = 1024;

/**
 * Compiles a glob pattern to a regular expression over storage paths.
 *
 * Patterns are relative to the storage root: a leading `/` is optional and the path is matched
 * without its own leading `/`. Syntax:
 * - `*` any run of characters within one segment (never `/`), `?` one such character;
 * - `**` as a whole segment: zero or more whole segments (`a/**` matches `a`, `a/b`, `a/b/c`;
 *   `**` elsewhere in a segment acts as `*`);
 * - `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` one character of (or not of) a class, never `/`; a `]`
 *   right after the opening `[` (or its `!`/`^`) is literal; a `[` without a closing `]` is literal;
 * - `{a,b,c}` alternatives, nestable, each a pattern of its own (`{src,test}/**`); braces without a
 *   top-level comma are literal;
 * - `\` makes the next character literal.
 *
 * Names starting with `.` get no special treatment: `*` matches `.env`.
 *
 * @throws {VfsError} `invalid-argument` for a pattern that is not a string, a reversed range such as
 *   `[z-a]`, a trailing `\` or more than 1,024 brace alternatives
 */
export function globToRegExp(pattern: string): RegExp {
  if (typeof pattern !== 'string') {
    throw new VfsError('invalid-argument', `a glob must be a string, got ${typeof pattern}`);
  }
  const sources = expandBraces(pattern).map((alternative) => compile(alternative, pattern));
  return new RegExp(`^(?:${sources.join('|')})$`, 'u');
}

/** A function telling whether a path matches any of `patterns` (see {@link globToRegExp}). */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  const regexps = patterns.map(globToRegExp);
  return (path) => {
    const relative = path.startsWith('/') ? path.slice(1) : path;
    return regexps.some((re) => re.test(relative));
  };
}

/** Whether `path` (absolute or relative to the root) matches the glob `pattern`. */
export function matchGlob(pattern: string, path: string): boolean {
  return globMatcher([pattern])(path);
}

function invalid(pattern: string, why: string): VfsError {
  return new VfsError('invalid-argument', `invalid glob ${JSON.stringify(pattern)}: ${why}`);
}

/** Index just past the class starting at `start` (a `[`), or -1 when it is not closed. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '!' || p[i] === '^') i++;
  if (p[i] === ']') i++;
  while (i < p.length && p[i] !== ']') {
    if (p[i] === '\\') i++;
    i++;
  }
  return i < p.length ? i + 1 : -1;
}

/** Expands the first top-level brace set, recursively, into brace-free alternatives. */
function expandBraces(p: string): string[] {
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      const end = classEnd(p, i);
      if (end !== -1) i = end - 1;
      continue;
    }
    if (c !== '{') continue;
    // Find the matching close brace and the top-level commas between.
    let depth = 0;
    const commas: number[] = [];
    let close = -1;
    for (let j = i; j < p.length; j++) {
      const d = p[j];
      if (d === '\\') {
        j++;
      } else if (d === '[') {
        const end = classEnd(p, j);
        if (end !== -1) j = end - 1;
      } else if (d === '{') {
        depth++;
      } else if (d === '}') {
        depth--;
        if (depth === 0) {
          close = j;
          break;
        }
      } else if (d === ',' && depth === 1) {
        commas.push(j);
      }
    }
    if (close === -1 || commas.length === 0) continue; // literal brace
    const head = p.slice(0, i);
    const tails = expandBraces(p.slice(close + 1));
    const bounds = [i, ...commas, close];
    const out: string[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      for (const middle of expandBraces(p.slice(bounds[k]! + 1, bounds[k + 1]!))) {
        for (const tail of tails) {
          out.push(head + middle + tail);
          if (out.length > MAX_ALTERNATIVES) throw invalid(p, 'too many brace alternatives');
        }
      }
    }
    return out;
  }
  return [p];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const classChar = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;

/** One segment (no `/`, no braces) as a regular expression source. */
function compileSegment(segment: string, original: string): string {
  const chars = Array.from(segment);
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      const next = chars[++i];
      if (next === undefined) throw invalid(original, 'it ends with an escaping backslash');
      out += escapeRegExp(next);
    } else if (c === '*') {
      while (chars[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const compiled = compileClass(chars, i, original);
      if (compiled === undefined) {
        out += '\\[';
      } else {
        out += compiled.source;
        i = compiled.end;
      }
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

/** The class starting at `chars[start]` (a `[`), or undefined when it is not closed. */
function compileClass(
  chars: string[],
  start: number,
  original: string,
): { source: string; end: number } | undefined {
  let i = start + 1;
  let negated = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negated = true;
    i++;
  }
  const items: string[] = [];
  let first = true;
  for (; i < chars.length; i++) {
    let c = chars[i]!;
    if (c === ']' && !first) {
      const body = items.join('');
      const source = negated ? `[^/${body}]` : items.length === 0 ? '(?!)' : `(?!/)[${body}]`;
      return { source, end: i };
    }
    first = false;
    if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) return undefined;
      c = next;
      i++;
    }
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      let to = chars[i + 2]!;
      let skip = 2;
      if (to === '\\') {
        const next = chars[i + 3];
        if (next === undefined) return undefined;
        to = next;
        skip = 3;
      }
      if (c.codePointAt(0)! > to.codePointAt(0)!) throw invalid(original, `reversed range ${c}-${to}`);
      items.push(`${classChar(c)}-${classChar(to)}`);
      i += skip;
    } else {
      items.push(classChar(c));
    }
  }
  return undefined;
}

/** A brace-free pattern as a regular expression source, `**` segments included. */
function compile(pattern: string, original: string): string {
  const segments = pattern.split('/').filter((s) => s !== '');
  if (segments.length === 0) return '';
  let out = '';
  let atStart = true;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === '**') {
      if (atStart) out += last ? '(?:[^/]+(?:/[^/]+)*)?' : '(?:[^/]+/)*';
      else out += '(?:/[^/]+)*';
      continue;
    }
    out += (atStart ? '' : '/') + compileSegment(segment, original);
    atStart = false;
  }
  return out;
}
