/**
 * `@eryx/vfs-cli`: the `eryx-vfs` command. `main(argv, io)` runs it in process (with your streams,
 * returning the exit code); the rest is what its commands are made of, for tools built alike.
 * @module
 */
export type { CommandSpec, OptionSpec, ParsedArgs } from './command.js';
export type { CliIo, GlobalFlags } from './context.js';
export { CliError, EXIT, exitCodeOf, formatError } from './errors.js';
export { formatBytes, formatRate, parseDuration } from './format.js';
export { main, version } from './main.js';
export { STORE_ENV } from './operands.js';
export { createProgress, type Progress } from './progress.js';
export { type OpenedStore, type OpenStoreOptions, openStore } from './stores.js';
