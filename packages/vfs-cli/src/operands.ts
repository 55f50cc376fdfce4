import { normalizePath } from '@eryx/vfs-core';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { looksLikeStoreUrl } from './stores.js';

/** The environment variable naming the store when a command's first argument is not a store URL. */
export const STORE_ENV = 'ERYX_VFS_STORE';

/**
 * Splits a store command's positionals into the store URL and the rest: the first positional when
 * it starts with a scheme (`sqlite:`, `s3://`, ...), else `$ERYX_VFS_STORE`. Store paths start with
 * `/`, so the two can never be confused.
 */
export function takeStore(ctx: Context, positionals: string[]): { store: string; rest: string[] } {
  const [first, ...rest] = positionals;
  if (first !== undefined && looksLikeStoreUrl(first)) return { store: first, rest };
  const fromEnv = ctx.io.env[STORE_ENV];
  if (fromEnv) return { store: fromEnv, rest: positionals };
  throw new CliError(
    'no store given',
    `name a store URL first (eryx-vfs ${ctx.command} sqlite:./state.db#ns /path) or set ${STORE_ENV}`,
  );
}

/**
 * A path inside a store, normalized: `/dir/file`; a path without the leading `/` is taken from the
 * root (`notes.txt` is `/notes.txt`).
 * @throws {VfsError} `invalid-path` (a `..` above the root, a NUL)
 */
export function storePath(text: string): string {
  return normalizePath(text.startsWith('/') ? text : `/${text}`);
}

/** Checks the number of positionals a command got. */
export function expectCount(ctx: Context, args: string[], min: number, max: number, what: string): void {
  if (args.length < min) {
    throw new CliError(`missing ${what}`, `see eryx-vfs ${ctx.command} --help`);
  }
  if (args.length > max) {
    throw new CliError(
      `unexpected argument ${JSON.stringify(args[max])}`,
      `see eryx-vfs ${ctx.command} --help`,
    );
  }
}
