import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type CommandSpec, commandHelp, parseArgsOptions } from './command.js';
import { type CliIo, Context, type GlobalFlags } from './context.js';
import { CliError, EXIT, exitCodeOf, formatError } from './errors.js';

interface Entry {
  name: string;
  summary: string;
  load(): Promise<CommandSpec>;
}

// Each command's module is imported only when it runs: start-up reads this table, nothing more.
const COMMANDS: Entry[] = [
  {
    name: 'run',
    summary: 'run a WASI program over mounts',
    load: async () => (await import('./commands/run.js')).run,
  },
  {
    name: 'python',
    summary: 'run Python over mounts',
    load: async () => (await import('./commands/python.js')).python,
  },
  { name: 'ls', summary: 'list a directory', load: async () => (await import('./commands/ls.js')).ls },
  {
    name: 'tree',
    summary: 'show a directory tree',
    load: async () => (await import('./commands/tree.js')).tree,
  },
  {
    name: 'cat',
    summary: 'write files to stdout',
    load: async () => (await import('./commands/cat.js')).cat,
  },
  {
    name: 'stat',
    summary: 'kind, size and times of a path',
    load: async () => (await import('./commands/stat.js')).stat,
  },
  {
    name: 'du',
    summary: 'bytes and files under a path',
    load: async () => (await import('./commands/du.js')).du,
  },
  {
    name: 'cp',
    summary: 'copy between the host and stores',
    load: async () => (await import('./commands/cp.js')).cp,
  },
  {
    name: 'mv',
    summary: 'move between the host and stores',
    load: async () => (await import('./commands/cp.js')).mv,
  },
  {
    name: 'rm',
    summary: 'remove files and directories',
    load: async () => (await import('./commands/rm.js')).rm,
  },
  {
    name: 'mkdir',
    summary: 'create directories',
    load: async () => (await import('./commands/mkdir.js')).mkdir,
  },
  {
    name: 'export',
    summary: 'write a tree as a tar archive, streamed',
    load: async () => (await import('./commands/export.js')).exportCommand,
  },
  {
    name: 'import',
    summary: 'read a tar archive into a store, streamed',
    load: async () => (await import('./commands/import.js')).importCommand,
  },
  {
    name: 'namespaces',
    summary: 'list the namespaces of a store',
    load: async () => (await import('./commands/namespaces.js')).namespaces,
  },
  {
    name: 'migrate',
    summary: "bring a store's schema up to date",
    load: async () => (await import('./commands/migrate.js')).migrate,
  },
  {
    name: 'gc',
    summary: 'delete what crashes left behind (S3)',
    load: async () => (await import('./commands/gc.js')).gc,
  },
  {
    name: 'drop',
    summary: "delete a store's namespace with all its files",
    load: async () => (await import('./commands/drop.js')).drop,
  },
];

const USAGE = `eryx-vfs: run WASI programs over persistent mounts; look into, copy, move and back up stores.

Usage:
  eryx-vfs <command> [options] [<store-url>] [arguments]
  eryx-vfs <command> --help

A store URL names a store and a namespace in it:
  memory:                                     a new in-memory store (lives as long as the command)
  sqlite:./state.db#user-42                   a SQLite file (relative to the current directory)
  postgres://user:pass@host:5432/db#user-42   a PostgreSQL database
  s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1#user-42
Store commands take the store URL first, else from $ERYX_VFS_STORE; paths in a store start with /.

Commands:
%COMMANDS%

Global options: --verbose (log every storage call; stack traces), -q/--quiet (no progress bar),
-h/--help, --version.

Exit codes: 0 ok; 1 refused by the store's state (exists, is a directory, not empty); 2 usage
error (bad option, argument, store URL or path); 3 not found; 4 storage failure (I/O, network,
quota, read-only). run, python: the program's exit code, 124 on timeout, 130 when interrupted.
`;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return USAGE.replace('%COMMANDS%', list);
}

/** This package's version, from its package.json. */
export function version(): string {
  const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return json.version;
}

function defaultIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * Runs `eryx-vfs` with `argv` (the arguments after the program name) and returns the exit code. It
 * never throws and never exits the process: errors are printed as one line on `io.stderr`.
 *
 * ```ts
 * const code = await main(['ls', 'sqlite:./state.db#user-42', '/']);
 * ```
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const streams: CliIo = { ...defaultIo(), ...io };
  const flags: GlobalFlags = { verbose: false, quiet: false };
  let index = 0;
  // Global flags may also come before the command: `eryx-vfs --verbose ls ...`.
  for (; index < argv.length && argv[index]!.startsWith('-'); index++) {
    const arg = argv[index]!;
    if (arg === '--help' || arg === '-h') {
      streams.stdout.write(topHelp());
      return EXIT.ok;
    }
    if (arg === '--version') {
      streams.stdout.write(`${version()}\n`);
      return EXIT.ok;
    }
    if (arg === '--verbose') flags.verbose = true;
    else if (arg === '--quiet' || arg === '-q') flags.quiet = true;
    else {
      streams.stderr.write(
        `${formatError(undefined, new CliError(`unknown option ${arg}`, 'see eryx-vfs --help'))}\n`,
      );
      return EXIT.usage;
    }
  }
  let name = argv[index];
  let rest = argv.slice(index + 1);
  if (name === 'help') {
    if (rest[0] === undefined) {
      streams.stdout.write(topHelp());
      return EXIT.ok;
    }
    name = rest[0];
    rest = ['--help'];
  }
  if (name === undefined) {
    streams.stderr.write(topHelp());
    return EXIT.usage;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    streams.stderr.write(
      `${formatError(undefined, new CliError(`unknown command ${JSON.stringify(name)}`, 'see eryx-vfs --help for the commands'))}\n`,
    );
    return EXIT.usage;
  }
  const ctx = new Context(streams, entry.name, flags);
  try {
    const spec = await entry.load();
    const parsed = parse(spec, rest);
    if (parsed.values.help === true) {
      streams.stdout.write(commandHelp(spec));
      return EXIT.ok;
    }
    if (parsed.values.verbose === true) flags.verbose = true;
    if (parsed.values.quiet === true) flags.quiet = true;
    // Only `run` passes what follows `--` on (to the program); elsewhere it is a positional like
    // any other (a path starting with `-`).
    if (!spec.takesRest) {
      parsed.positionals.push(...parsed.rest);
      parsed.rest = [];
    }
    return (await spec.run(ctx, parsed)) ?? EXIT.ok;
  } catch (error) {
    ctx.warn(formatError(entry.name, error));
    if (flags.verbose && error instanceof Error && error.stack) ctx.warn(error.stack);
    return exitCodeOf(error);
  } finally {
    await ctx.closeAll();
  }
}

function parse(spec: CommandSpec, args: string[]) {
  let result: ReturnType<typeof parseArgs>;
  try {
    result = parseArgs({
      args,
      options: parseArgsOptions(spec),
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    const hint = `see eryx-vfs ${spec.name} --help`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new CliError(`unknown option ${option}`, hint);
    }
    if (code?.startsWith('ERR_PARSE_ARGS')) throw new CliError(message.replace(/\.$/, ''), hint);
    throw error;
  }
  const terminator = result.tokens!.find((t) => t.kind === 'option-terminator');
  const split = terminator
    ? result.tokens!.filter((t) => t.kind === 'positional' && t.index < terminator.index).length
    : result.positionals.length;
  return {
    values: result.values as Record<string, string | boolean | string[] | undefined>,
    positionals: result.positionals.slice(0, split),
    rest: result.positionals.slice(split),
  };
}
