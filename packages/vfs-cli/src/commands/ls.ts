import { type FileKind, joinPath, type Metadata } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { formatTime, isoTime } from '../format.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { mapLimit, sortByName } from '../walk.js';

interface Row {
  name: string;
  kind: FileKind;
  size: number;
  meta?: Metadata;
}

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
  details: ['<path> defaults to /. Directories are shown with a trailing /.'],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 1, 'path');
    const path = storePath(rest[0] ?? '/');
    const { storage } = await ctx.open(store, { mustExist: true });
    const long = values.long === true;
    const self = await storage.stat(path);
    let rows: Row[];
    if (self.kind === 'file') {
      rows = [{ name: path, kind: 'file', size: self.size, meta: self }];
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
    if (values.json === true) {
      const entries = rows.map((row) => ({
        name: row.name,
        kind: row.kind,
        size: row.size,
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
        `${row.kind === 'directory' ? 'd' : '-'} ${String(row.size).padStart(width)} ${formatTime(row.meta!.modified)} ${label(row)}\n`,
    );
    await ctx.write(lines.join(''));
  },
};
