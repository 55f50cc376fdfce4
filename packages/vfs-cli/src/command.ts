import type { ParseArgsConfig } from 'node:util';
import type { Context } from './context.js';

/** One option of a command: a `parseArgs` option plus what `--help` says about it. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  multiple?: boolean;
  /** The value's name in `--help` (`<url>`, `<dir>`). */
  value?: string;
  description: string;
}

/** What a command's `run` receives: parsed options and positional arguments. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** For `run`: the arguments after `--`, passed on untouched. */
  rest: string[];
}

/** A subcommand of `eryx-vfs`. */
export interface CommandSpec {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage lines, without the leading `eryx-vfs `. */
  usage: string[];
  /** Paragraphs shown by `--help` after the options. */
  details?: string[];
  options: Record<string, OptionSpec>;
  /** What follows `--` is kept apart in {@link ParsedArgs.rest} (the program's arguments of `run`). */
  takesRest?: boolean;
  /** Returns the exit code (default 0). */
  run(ctx: Context, args: ParsedArgs): Promise<number | undefined> | Promise<void>;
}

/** The options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  verbose: {
    type: 'boolean',
    description: 'log every storage call (operation, path, time, outcome) on stderr',
  },
  quiet: { type: 'boolean', short: 'q', description: 'no progress bar' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** The `parseArgs` options of a command (its own plus the global ones). */
export function parseArgsOptions(spec: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, option] of Object.entries({ ...spec.options, ...GLOBAL_OPTIONS })) {
    out[name] = {
      type: option.type,
      ...(option.short !== undefined && { short: option.short }),
      ...(option.multiple !== undefined && { multiple: option.multiple }),
    };
  }
  return out;
}

/** The `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', 'Usage:'];
  for (const usage of spec.usage) lines.push(`  eryx-vfs ${usage}`);
  lines.push('', 'Options:');
  const rows = Object.entries({ ...spec.options, ...GLOBAL_OPTIONS }).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.value ? ` ${option.value}` : ''}`;
    return [flag, option.description + (option.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  for (const [flag, description] of rows) lines.push(`  ${flag.padEnd(width)}  ${description}`);
  for (const paragraph of spec.details ?? []) lines.push('', paragraph);
  return `${lines.join('\n')}\n`;
}
