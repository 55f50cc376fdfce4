import type { CommandSpec } from '../command.js';
import { formatBytes, isoTime } from '../format.js';
import { expectCount, storePath, takeStore } from '../operands.js';

/** `eryx-vfs stat`: kind, size and times of one path. */
export const stat: CommandSpec = {
  name: 'stat',
  summary: 'kind, size and times of a path (a symbolic link itself, with its target)',
  usage: ['stat [--json] [<store-url>] <path>'],
  options: {
    json: {
      type: 'boolean',
      description:
        'print one JSON document: { path, kind, size, created, modified, accessed } (ISO 8601 times), and target for a symbolic link',
    },
  },
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 1, 1, 'path');
    const path = storePath(rest[0]!);
    const { storage } = await ctx.open(store, { mustExist: true });
    const meta = await storage.stat(path);
    const doc = {
      path,
      kind: meta.kind,
      size: meta.size,
      created: isoTime(meta.created),
      modified: isoTime(meta.modified),
      accessed: isoTime(meta.accessed),
      // A symbolic link's target (stat never follows it).
      ...(meta.kind === 'symlink' && { target: await storage.readlink(path) }),
    };
    if (values.json === true) {
      await ctx.write(`${JSON.stringify(doc, null, 2)}\n`);
      return;
    }
    const size = meta.size >= 1024 ? `${meta.size} (${formatBytes(meta.size)})` : String(meta.size);
    const target = doc.target === undefined ? '' : `  target: ${doc.target}\n`;
    await ctx.write(
      `    path: ${doc.path}\n    kind: ${doc.kind}\n${target}    size: ${size}\n created: ${doc.created}\nmodified: ${doc.modified}\naccessed: ${doc.accessed}\n`,
    );
  },
};
