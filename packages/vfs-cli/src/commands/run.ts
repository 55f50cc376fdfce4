import { basename, isAbsolute } from 'node:path';
import type { RunMount, RunResult } from '@eryx/vfs-run';
import type { CommandSpec, ParsedArgs } from '../command.js';
import type { Context } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { formatBytes, parseDuration } from '../format.js';
import { expectCount } from '../operands.js';
import { looksLikeStoreUrl } from '../stores.js';

/** The options `run` and `python` share: mounts, environment, time limit, working directory, cache. */
export const PROGRAM_OPTIONS: CommandSpec['options'] = {
  mount: {
    type: 'string',
    multiple: true,
    value: '<guest-dir>=<source>',
    description:
      'mount a store URL (sqlite:./state.db#user-42, postgres://…, s3://…, memory:) or a host directory (host:./conf, host:./conf:ro) at a guest directory',
  },
  env: {
    type: 'string',
    multiple: true,
    value: 'K=V',
    description:
      "set a variable of the program's environment (K alone passes this process's value); none is passed otherwise",
  },
  timeout: {
    type: 'string',
    value: '<duration>',
    description: 'stop the program after this long (500ms, 30s, 5m); exit code 124',
  },
  cwd: { type: 'string', value: '<guest-dir>', description: "the program's working directory" },
  'cache-dir': {
    type: 'string',
    value: '<dir>',
    description: 'where transpiled programs are cached (default $ERYX_VFS_CACHE, else ~/.cache/eryx-vfs)',
  },
};

/** `eryx-vfs run`: runs a WASI program over persistent mounts. */
export const run: CommandSpec = {
  name: 'run',
  summary: 'run a WASI program (component or preview1 module) over mounts',
  usage: [
    'run [--mount <guest-dir>=<source>]... [--env K=V]... [--timeout <duration>] <program.wasm> [-- <args>...]',
  ],
  options: PROGRAM_OPTIONS,
  takesRest: true,
  details: [
    "The program's arguments follow --; its argv[0] is the file's name without .wasm. stdin, stdout and stderr are this process's, streamed. The exit code is the program's own; 124 when --timeout stopped it, 130 when Ctrl-C did (a stopped program stores its buffered writes first; any it could not store are reported).",
    'The first run of a program transpiles it (jco) into the cache; later runs, in any process, start from the cache.',
  ],
  async run(ctx, { values, positionals, rest }) {
    expectCount(ctx, positionals, 1, Number.POSITIVE_INFINITY, 'the program (a .wasm file)');
    const [component, ...extra] = positionals as [string, ...string[]];
    const mounts = await parseMounts(ctx, (values.mount as string[] | undefined) ?? []);
    const options = programOptions(ctx, values);
    const argv0 = basename(component).replace(/(\.component)?\.wasm$/, '');
    const { run: runProgram } = await import('@eryx/vfs-run');
    const result = await withInterrupt((signal) =>
      runProgram({ ...options, component, mounts, args: [argv0, ...extra, ...rest], signal }),
    );
    return reportRun(ctx, 'run', component, result, values.timeout as string | undefined);
  },
};

/**
 * What `run()` and `python()` take from `--env`, `--timeout`, `--cwd` and `--cache-dir` (checked),
 * with this process's stdin, stdout, stderr and working directory.
 */
export function programOptions(ctx: Context, values: ParsedArgs['values']) {
  const env = parseEnv(ctx, (values.env as string[] | undefined) ?? []);
  let timeout: number | undefined;
  if (values.timeout !== undefined) {
    timeout = parseDuration(values.timeout as string);
    if (timeout === undefined) {
      throw new CliError(`--timeout ${values.timeout} is not a duration`, 'write it like 500ms, 30s or 5m');
    }
  }
  return {
    env,
    ...(values.cwd !== undefined && { cwd: values.cwd as string }),
    ...(values['cache-dir'] !== undefined && { cacheDir: values['cache-dir'] as string }),
    ...(timeout !== undefined && { timeout }),
    stdin: ctx.io.stdin,
    hostCwd: ctx.io.cwd,
    onStdout: (chunk: Uint8Array) => ctx.io.stdout.write(chunk),
    onStderr: (chunk: Uint8Array) => ctx.io.stderr.write(chunk),
  };
}

/** Runs `start` with an AbortSignal that Ctrl-C aborts (the program stores its buffered writes). */
export async function withInterrupt<T>(start: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // A second Ctrl-C, once this listener is gone, kills eryx-vfs.
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    return await start(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Reports how a program ended (lost writes, timeout, interrupt, crash) and returns the exit code. */
export function reportRun(
  ctx: Context,
  command: string,
  name: string,
  result: RunResult,
  timeoutText?: string,
): number {
  for (const file of result.unstored) {
    const path = `${file.mount === '/' ? '' : file.mount}${file.path}`;
    ctx.warn(
      `eryx-vfs: ${command}: ${path}: at least ${formatBytes(file.bytes)} written by the program were not stored (it was stopped before it could store them) — check the file; give the program more time with --timeout`,
    );
  }
  switch (result.status) {
    case 'timeout':
      ctx.warn(
        `eryx-vfs: ${command}: ${name}: stopped after ${timeoutText} — raise --timeout if it needs longer`,
      );
      return EXIT.timeout;
    case 'aborted':
      ctx.warn(`eryx-vfs: ${command}: ${name}: interrupted`);
      return EXIT.interrupted;
    case 'trapped':
      ctx.warn(
        `eryx-vfs: ${command}: ${name}: the program crashed: ${oneLine(result.error ?? 'trap')} — run it again with --verbose to see its storage calls`,
      );
      return result.exitCode;
    case 'exited':
      if (result.error !== undefined) {
        ctx.warn(
          `eryx-vfs: ${command}: ${name}: storing the program's last writes failed: ${oneLine(result.error)} — check that the store is reachable`,
        );
        return result.exitCode === 0 ? EXIT.storage : result.exitCode;
      }
      return result.exitCode;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * `--mount /data=sqlite:./state.db#ns` as vfs-run's mounts. With --verbose the stores are opened
 * here, traced, and mounted as storage objects, so that every storage call of the program is
 * logged; otherwise the URLs go to vfs-run, whose worker opens them.
 */
export async function parseMounts(ctx: Context, specs: string[]): Promise<Record<string, RunMount>> {
  const mounts: Record<string, RunMount> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const guest = eq < 0 ? '' : spec.slice(0, eq);
    const source = eq < 0 ? '' : spec.slice(eq + 1);
    if (!guest.startsWith('/') || source === '') {
      throw new CliError(
        `--mount ${spec}: expected <guest-dir>=<source>`,
        'for example --mount /data=sqlite:./state.db#user-42 or --mount /config=host:./conf:ro',
      );
    }
    if (mounts[guest] !== undefined)
      throw new CliError(`--mount ${guest} given twice`, 'mount each guest directory once');
    if (source.startsWith('host:')) {
      mounts[guest] = source;
    } else if (looksLikeStoreUrl(source)) {
      mounts[guest] = ctx.flags.verbose ? (await ctx.open(source)).storage : source;
    } else {
      throw new CliError(
        `--mount ${spec}: ${JSON.stringify(source)} is neither a store URL nor host:<dir>`,
        isAbsolute(source) || source.startsWith('.')
          ? `for a host directory write host:${source}`
          : 'see eryx-vfs --help for the store URL forms',
      );
    }
  }
  return mounts;
}

function parseEnv(ctx: Context, specs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    if (!/^[^=\0]+$/.test(name))
      throw new CliError(`--env ${spec}: expected K=V`, 'for example --env LANG=C.UTF-8');
    const value = eq < 0 ? ctx.io.env[name] : spec.slice(eq + 1);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
