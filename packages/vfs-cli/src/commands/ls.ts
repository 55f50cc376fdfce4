import { type FileKind, joinPath, type Metadata } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { formatTime, isoTime } from '../format.js';
import { linkLabel } from '../links.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { mapLimit, sortByName } from '../walk.js';

interface Row {
  name: string;
  kind: FileKind;
  size: number;
  meta?: Metadata;
  /** A symbolic link's target. */
  target?: string;
}

/** The kind letter of `ls -l`. */
const KIND_LETTER: Record<FileKind, string> = { file: '-', directory: 'd', symlink: 'l' };

/** `eryx-vfs ls`: the entries of a directory, sorted by name. */
export const ls: CommandSpec = {
  name: 'ls',
  summary: 'list a directory (or show one file)',
  usage: ['ls [-l] [--json] [<store-url>] [<path>]'],
  options: {
    long: { type: 'boolean', short: 'l', description: 'kind, size and modification time of each entry' },
    json: {
      type: 'boolean',
      description: 'print one JSON document: { path, entries: [{ name, kind, size, ... }] }',
    },
  },
  details: [
    '<path> defaults to /. Directories are shown with a trailing /. A symbolic link is shown as itself, never followed: -l shows it as "name -> target" (kind l), --json gives its target.',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 1, 'path');
    const path = storePath(rest[0] ?? '/');
    const { storage } = await ctx.open(store, { mustExist: true });
    const long = values.long === true;
    const self = await storage.stat(path);
    let rows: Row[];
    if (self.kind !== 'directory') {
      rows = [{ name: path, kind: self.kind, size: self.size, meta: self }];
    } else {
      rows = sortByName(await storage.list(path));
      // -l needs the times, which a listing does not carry: one stat per entry, a few at a time.
      if (long) {
        rows = await mapLimit(rows, 16, async (row) => ({
          ...row,
          meta: await storage.stat(joinPath(path, row.name)),
        }));
      }
    }
    // Targets are shown by -l and --json: one readlink per link.
    if (long || values.json === true) {
      rows = await mapLimit(rows, 16, async (row) =>
        row.kind === 'symlink'
          ? { ...row, target: await storage.readlink(row.name === path ? path : joinPath(path, row.name)) }
          : row,
      );
    }
    if (values.json === true) {
      const entries = rows.map((row) => ({
        name: row.name,
        kind: row.kind,
        size: row.size,
        ...(row.target !== undefined && { target: row.target }),
        ...(long &&
          row.meta && {
            created: isoTime(row.meta.created),
            modified: isoTime(row.meta.modified),
            accessed: isoTime(row.meta.accessed),
          }),
      }));
      await ctx.write(`${JSON.stringify({ path, kind: self.kind, entries }, null, 2)}\n`);
      return;
    }
    const label = (row: Row) => (row.kind === 'directory' ? `${row.name}/` : row.name);
    if (!long) {
      await ctx.write(rows.map((row) => `${label(row)}\n`).join(''));
      return;
    }
    const width = Math.max(1, ...rows.map((row) => String(row.size).length));
    const lines = rows.map(
      (row) =>
        `${KIND_LETTER[row.kind]} ${String(row.size).padStart(width)} ${formatTime(row.meta!.modified)} ${linkLabel(label(row), row.target)}\n`,
    );
    await ctx.write(lines.join(''));
  },
};
