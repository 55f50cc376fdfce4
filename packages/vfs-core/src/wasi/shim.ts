import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Cli from '@bytecodealliance/preview2-shim/cli';
import type * as Clocks from '@bytecodealliance/preview2-shim/clocks';
import type * as Io from '@bytecodealliance/preview2-shim/io';
import type * as Random from '@bytecodealliance/preview2-shim/random';
import type * as Sockets from '@bytecodealliance/preview2-shim/sockets';

/** The preview2-shim modules the host is made of. */
export interface Shim {
  io: typeof Io;
  cli: typeof Cli;
  clocks: typeof Clocks;
  random: typeof Random;
  sockets: typeof Sockets;
}

let loaded: Shim | undefined;

/*
 * The host needs preview2-shim's browser flavour: its streams are built from handlers
 * (`inputStreamCreate` / `outputStreamCreate`), which is how storage-backed file streams and
 * captured stdio are made. On Node the package's `exports` map sends every subpath to the Node
 * flavour, so the browser files are loaded by location, next to the Node entry point. They are
 * ES modules without top-level await, so `require` loads them synchronously (Node >= 20.19), at the
 * first host rather than at import, and shares them with any `import` of the same files. Every
 * host shares these modules, so the stream, pollable and error classes that jco checks with
 * `instanceof` are the same for the filesystem, stdio and poll.
 */
export function shim(): Shim {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const browserDir = join(dirname(require.resolve('@bytecodealliance/preview2-shim')), '..', 'browser');
  const browser = (name: string): unknown => require(join(browserDir, `${name}.js`));
  loaded = {
    io: browser('io') as typeof Io,
    cli: browser('cli') as typeof Cli,
    clocks: browser('clocks') as typeof Clocks,
    random: browser('random') as typeof Random,
    sockets: browser('sockets') as typeof Sockets,
  };
  return loaded;
}
