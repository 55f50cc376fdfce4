import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type * as Cli from '@bytecodealliance/preview2-shim/cli';
import type * as Clocks from '@bytecodealliance/preview2-shim/clocks';
import type * as Io from '@bytecodealliance/preview2-shim/io';
import type * as Random from '@bytecodealliance/preview2-shim/random';
import type * as Sockets from '@bytecodealliance/preview2-shim/sockets';

/*
 * The host needs preview2-shim's browser flavour: its streams are built from handlers
 * (`inputStreamCreate` / `outputStreamCreate`), which is how storage-backed file streams and
 * captured stdio are made. On Node the package's `exports` map sends every subpath to the Node
 * flavour, so the browser files are loaded by location, next to the Node entry point. Every host
 * shares these modules, so the stream, pollable and error classes that jco checks with
 * `instanceof` are the same for the filesystem, stdio and poll.
 */
const nodeEntry = createRequire(import.meta.url).resolve('@bytecodealliance/preview2-shim');
const browser = (name: string): string => new URL(`../browser/${name}.js`, pathToFileURL(nodeEntry)).href;

export const io = (await import(browser('io'))) as typeof Io;
export const cli = (await import(browser('cli'))) as typeof Cli;
export const clocks = (await import(browser('clocks'))) as typeof Clocks;
export const random = (await import(browser('random'))) as typeof Random;
export const sockets = (await import(browser('sockets'))) as typeof Sockets;
