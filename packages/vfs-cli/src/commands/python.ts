import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { RunMount } from '@eryx/vfs-run';
import type { CommandSpec } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import { expectCount } from '../operands.js';
import { PROGRAM_OPTIONS, parseMounts, programOptions, reportRun, withInterrupt } from './run.js';

/** Where a script from the host is mounted (read-only, that one file alone). */
const SCRIPT_DIR = '/app';

/** `eryx-vfs python`: runs CPython (WASI) over persistent mounts. */
export const python: CommandSpec = {
  name: 'python',
  summary: 'run Python (CPython 3.11 for WASI) over mounts',
  usage: [
    'python [--mount <guest-dir>=<source>]... [options] <script.py> [<args>...] [-- <args>...]',
    'python [--mount <guest-dir>=<source>]... [options] -c <code> [-- <args>...]',
    'python [--mount <guest-dir>=<source>]... [options] -m <module> [-- <args>...]',
  ],
  options: {
    code: { type: 'string', short: 'c', value: '<code>', description: 'run this code (python -c)' },
    module: { type: 'string', short: 'm', value: '<module>', description: 'run a module (python -m)' },
    ...PROGRAM_OPTIONS,
    'site-packages': {
      type: 'string',
      value: '<source>',
      description:
        'mount packages read-only at /usr/local/lib/python3.11/site-packages (host:./site-packages, or a store URL)',
    },
    'no-tmp': { type: 'boolean', description: 'no /tmp (by default a fresh memory store per execution)' },
  },
  takesRest: true,
  details: [
    `A script is a host file, mounted read-only alone at ${SCRIPT_DIR} (its directory is not), or a guest path inside one of the mounts (--mount /data=… /data/app.py). Arguments after the script, or after --, are the program's sys.argv[1:]; write -- before any that start with -.`,
    "The standard library is mounted read-only; nothing else of the host is visible unless a --mount says so. stdin, stdout and stderr are this process's. The exit code is Python's (1 for an uncaught exception); 124 when --timeout stopped it, 130 when Ctrl-C did.",
  ],
  async run(ctx, { values, positionals, rest }) {
    const code = values.code as string | undefined;
    const module = values.module as string | undefined;
    if (code !== undefined && module !== undefined) {
      throw new CliError('give -c <code> or -m <module>, not both', 'see eryx-vfs python --help');
    }
    const inline = code !== undefined || module !== undefined;
    if (!inline)
      expectCount(ctx, positionals, 1, Number.POSITIVE_INFINITY, 'the script (or -c <code>, -m <module>)');
    const options = programOptions(ctx, values);
    const mounts: Record<string, RunMount> = await parseMounts(
      ctx,
      (values.mount as string[] | undefined) ?? [],
    );
    const args = inline ? [...positionals, ...rest] : [...positionals.slice(1), ...rest];
    let script: string | undefined;
    let name = code !== undefined ? 'python -c' : `python -m ${module}`;
    if (!inline) {
      const given = positionals[0]!;
      name = given;
      if (
        Object.keys(mounts).some(
          (dir) => given === dir || given.startsWith(dir.endsWith('/') ? dir : `${dir}/`),
        )
      ) {
        script = given;
      } else {
        const file = resolve(ctx.io.cwd, given);
        if (!existsSync(file)) {
          throw new CliError(
            `${given}: no such script on the host, and no --mount holds it`,
            'give a host file, or a guest path inside a --mount (e.g. /data/app.py)',
            EXIT.notFound,
          );
        }
        if (mounts[SCRIPT_DIR] !== undefined) {
          throw new CliError(
            `${given}: a host script is mounted at ${SCRIPT_DIR}, which --mount uses`,
            `mount elsewhere, or give the script as a guest path`,
          );
        }
        const { restrictedFiles } = await import('@eryx/vfs-core');
        mounts[SCRIPT_DIR] = restrictedFiles({ [basename(file)]: file }, { readOnly: true });
        script = `${SCRIPT_DIR}/${basename(file)}`;
      }
    }
    const site = values['site-packages'] as string | undefined;
    let sitePackages: RunMount | undefined;
    if (site !== undefined) sitePackages = (await parseMounts(ctx, [`/site=${site}`]))['/site'];
    const { python: runPython } = await import('@eryx/vfs-python');
    const result = await withInterrupt((signal) =>
      runPython({
        ...options,
        ...(code !== undefined && { code }),
        ...(module !== undefined && { module }),
        ...(script !== undefined && { script }),
        args,
        mounts,
        ...(values['no-tmp'] === true && { tmp: false }),
        ...(sitePackages !== undefined && { sitePackages }),
        signal,
      }),
    );
    return reportRun(ctx, 'python', name, result, values.timeout as string | undefined);
  },
};
