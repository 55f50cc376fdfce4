import { baseName } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { formatBytes } from '../format.js';
import { linkLabel } from '../links.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { walk } from '../walk.js';

/** `eryx-vfs tree`: the directory tree under a path. */
export const tree: CommandSpec = {
  name: 'tree',
  summary: 'show the directory tree under a path',
  usage: ['tree [-s] [<store-url>] [<path>]'],
  options: {
    size: { type: 'boolean', short: 's', description: 'show the size of each file (and link)' },
  },
  details: [
    '<path> defaults to /. Entries are sorted by name; a count of directories and files ends the output. A symbolic link is shown as "name -> target" and counted as a file, never followed.',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 1, 'path');
    const path = storePath(rest[0] ?? '/');
    const { storage } = await ctx.open(store, { mustExist: true });
    // Whether each open ancestor level still has entries below: draws "│   " or "    ".
    const open: boolean[] = [];
    let directories = 0;
    let files = 0;
    let lines: string[] = [];
    for await (const entry of walk(storage, path)) {
      const size = values.size === true && entry.kind !== 'directory' ? ` (${formatBytes(entry.size)})` : '';
      const target = entry.kind === 'symlink' ? await storage.readlink(entry.path) : undefined;
      if (entry.depth === 0) {
        lines.push(
          `${linkLabel(`${path}${entry.kind === 'directory' && path !== '/' ? '/' : ''}`, target)}${size}`,
        );
      } else {
        open.length = entry.depth - 1;
        const indent = open.map((more) => (more ? '│   ' : '    ')).join('');
        const name = linkLabel(baseName(entry.path) + (entry.kind === 'directory' ? '/' : ''), target);
        lines.push(`${indent}${entry.last ? '└── ' : '├── '}${name}${size}`);
        open.push(!entry.last);
        if (entry.kind === 'directory') directories++;
        else files++;
      }
      if (lines.length >= 256) {
        await ctx.write(`${lines.join('\n')}\n`);
        lines = [];
      }
    }
    lines.push(
      '',
      `${directories} director${directories === 1 ? 'y' : 'ies'}, ${files} file${files === 1 ? '' : 's'}`,
    );
    await ctx.write(`${lines.join('\n')}\n`);
  },
};
