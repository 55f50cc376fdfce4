import { isSameOrDescendant, VfsError } from '@eryx/vfs-core';
import type { CommandSpec, ParsedArgs } from '../command.js';
import type { Context } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { expectCount, storePath } from '../operands.js';
import { createProgress, type Progress } from '../progress.js';
import {
  counted,
  hostSide,
  pipeTo,
  type Side,
  type SideEntry,
  storeSide,
  streamChunks,
} from '../transfer.js';

const OPTIONS = {
  from: { type: 'string', value: '<store-url>', description: 'the source is a path in this store' },
  to: { type: 'string', value: '<store-url>', description: 'the destination is a path in this store' },
} as const;

const DETAILS = [
  'Which operand is in a store is said by --from (the source) and --to (the destination); an operand without one is a host path, relative to the current directory. Give both for store to store, the same URL twice for a copy within one store. A host operand - is stdin (source) or stdout (destination).',
  'As with cp(1): when the destination is an existing directory, the source goes into it under its own name; otherwise the destination is the new name. Files are streamed in 1 MiB chunks; a file larger than that is written under a temporary name and renamed at the end, so an interrupted copy leaves no torn file.',
  "A store's symbolic link is copied as a link with the same target (never what it points to, as cp -P does), to a store that keeps links or to the host; a link in the way of a file is refused, never written through. Host links are followed (copied as what they point to). To stdout (-), a store's links are followed within the store, as cat does.",
];

/** `eryx-vfs cp`: copies files and trees between the host and stores, in any direction. */
export const cp: CommandSpec = {
  name: 'cp',
  summary: 'copy files or trees: host -> store, store -> host, store -> store',
  usage: [
    'cp [-r] --to <store-url> <host-path> <store-path>',
    'cp [-r] --from <store-url> <store-path> <host-path>',
    'cp [-r] --from <store-url> --to <store-url> <store-path> <store-path>',
  ],
  options: {
    ...OPTIONS,
    recursive: { type: 'boolean', short: 'r', description: 'copy directories with everything in them' },
  },
  details: DETAILS,
  run: (ctx, args) => transfer(ctx, args, 'copy'),
};

/** `eryx-vfs mv`: moves files and trees between the host and stores, in any direction. */
export const mv: CommandSpec = {
  name: 'mv',
  summary: 'move files or trees: host -> store, store -> host, store -> store',
  usage: [
    'mv --to <store-url> <host-path> <store-path>',
    'mv --from <store-url> <store-path> <host-path>',
    'mv --from <store-url> --to <store-url> <store-path> <store-path>',
  ],
  options: OPTIONS,
  details: [
    ...DETAILS,
    'Within one store (the same URL for --from and --to) a move is one rename, atomic where the backend offers it. Across stores or with the host it is a copy, then the removal of the source once everything was copied.',
  ],
  run: (ctx, args) => transfer(ctx, args, 'move'),
};

async function transfer(ctx: Context, { values, positionals }: ParsedArgs, mode: 'copy' | 'move') {
  expectCount(ctx, positionals, 2, 2, 'source and destination');
  const [srcArg, dstArg] = positionals as [string, string];
  const from = values.from as string | undefined;
  const to = values.to as string | undefined;
  if (from === undefined && to === undefined) {
    throw new CliError(
      'neither operand is in a store',
      `mark the store side with --from <store-url> (source) or --to <store-url> (destination); for host files use ${ctx.command}(1)`,
    );
  }
  const host = hostSide(ctx.io.cwd);
  const src =
    from === undefined ? host : storeSide((await ctx.open(from, { mustExist: true })).storage, from);
  const dst = to === undefined ? host : to === from ? src : storeSide((await ctx.open(to)).storage, to);
  const srcPath = from === undefined ? srcArg : storePath(srcArg);
  const dstPath = to === undefined ? dstArg : storePath(dstArg);

  // Streams: `-` on the host side.
  if (from === undefined && srcArg === '-') {
    if (mode === 'move') throw new CliError('cannot move stdin', 'use cp - to write stdin to a file');
    const target = await targetPath(dst, dstPath, 'stdin');
    const progress = await createProgress(ctx.io, ctx.flags, 'cp');
    try {
      await dst.write(
        target,
        counted(streamChunks(ctx.io.stdin), (n) => progress.add(n)),
      );
      progress.add(0, 1);
    } finally {
      progress.stop();
    }
    return EXIT.ok;
  }
  const source = await src.stat(srcPath);
  if (!source) throw new VfsError('not-found', undefined, { path: srcPath });
  if (to === undefined && dstArg === '-') {
    if (mode === 'move')
      throw new CliError('cannot move to stdout', 'use cp <path> - to write a file to stdout');
    if (source.kind === 'directory') {
      throw new CliError(
        'is a directory; only a file can be written to stdout',
        undefined,
        EXIT.refused,
        srcPath,
      );
    }
    await pipeTo(src.read(srcPath), ctx.io.stdout);
    return EXIT.ok;
  }
  if (source.kind === 'directory' && mode === 'copy' && values.recursive !== true) {
    throw new CliError(
      'is a directory',
      `use ${ctx.command} -r to copy it with everything in it`,
      EXIT.refused,
      srcPath,
    );
  }
  const target = await targetPath(dst, dstPath, src.base(srcPath));
  if (src === dst && isSameOrDescendant(srcPath, target)) {
    if (srcPath === target)
      throw new CliError('source and destination are the same', undefined, EXIT.usage, srcPath);
    throw new CliError(
      `cannot ${mode} a directory into itself (${target})`,
      'choose a destination outside the source',
      EXIT.usage,
      srcPath,
    );
  }
  if (mode === 'move' && src === dst) {
    await src.storage!.rename(srcPath, target);
    return EXIT.ok;
  }
  // The whole plan first: it gives the progress bar its totals, and fails early on a missing source.
  const plan =
    source.kind === 'directory'
      ? await collect(src, srcPath)
      : [{ path: srcPath, kind: source.kind, size: source.size }];
  // Links are made, not streamed: they count as files but add no bytes.
  const bytes = plan.reduce((sum, e) => sum + (e.kind === 'file' ? e.size : 0), 0);
  const files = plan.filter((e) => e.kind !== 'directory').length;
  const progress = await createProgress(ctx.io, ctx.flags, ctx.command, { bytes, files });
  try {
    await copyPlan(src, dst, target, plan, progress);
  } finally {
    progress.stop();
  }
  if (mode === 'move') await src.remove(srcPath, source.kind);
  return EXIT.ok;
}

/** Where the source lands: inside `dstPath` when it is an existing directory, else `dstPath`. */
async function targetPath(dst: Side, dstPath: string, name: string): Promise<string> {
  const existing = await dst.stat(dstPath);
  return existing?.kind === 'directory' ? dst.join(dstPath, name) : dstPath;
}

interface PlanEntry {
  /** The path on the source side. */
  path: string;
  kind: SideEntry['kind'];
  size: number;
  /** The path relative to the source root, as names; absent for a single file. */
  segments?: string[];
}

/** Every entry under a directory, parents before children. */
async function collect(side: Side, root: string): Promise<PlanEntry[]> {
  const out: PlanEntry[] = [{ path: root, kind: 'directory', size: 0, segments: [] }];
  const visit = async (dir: string, segments: string[]) => {
    for (const entry of await side.list(dir)) {
      const path = side.join(dir, entry.name);
      const here = [...segments, entry.name];
      out.push({ path, kind: entry.kind, size: entry.size, segments: here });
      if (entry.kind === 'directory') await visit(path, here);
    }
  };
  await visit(root, []);
  return out;
}

async function copyPlan(
  src: Side,
  dst: Side,
  dstRoot: string,
  plan: PlanEntry[],
  progress: Progress,
): Promise<void> {
  for (const entry of plan) {
    const target = entry.segments
      ? entry.segments.reduce((dir, name) => dst.join(dir, name), dstRoot)
      : dstRoot;
    if (entry.kind === 'directory') {
      await dst.ensureDirectory(target);
      continue;
    }
    if (entry.kind === 'symlink') {
      await dst.symlink(target, await src.readlink(entry.path));
      progress.add(0, 1);
      continue;
    }
    await dst.write(
      target,
      counted(src.read(entry.path), (n) => progress.add(n)),
    );
    progress.add(0, 1);
  }
}
