import { parseStoreUrl } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { formatBytes } from '../format.js';
import { expectCount, takeStore } from '../operands.js';
import { assertExists, backendFor } from '../stores.js';

/** `eryx-vfs namespaces`: the namespaces a store holds. */
export const namespaces: CommandSpec = {
  name: 'namespaces',
  summary: 'list the namespaces of a store, with their files and bytes',
  usage: ['namespaces [--json] [<store-url>]'],
  options: {
    json: {
      type: 'boolean',
      description: 'print one JSON document: { store, namespaces: [{ name, files?, bytes? }] }',
    },
  },
  details: [
    'The store is the URL without its #fragment: a SQLite file, a PostgreSQL schema, an S3 bucket prefix. Files and bytes are shown when the backend knows them without a scan (SQLite and PostgreSQL keep them). Only reads: nothing is created. memory: has none (each memory store lives only inside one command).',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 0, 'nothing');
    const url = parseStoreUrl(store, { cwd: ctx.io.cwd });
    assertExists(url);
    const list = await (await backendFor(url)).namespaces(url);
    const href = url.href.replace(/#.*$/, '');
    if (values.json === true) {
      await ctx.write(`${JSON.stringify({ store: href, namespaces: list }, null, 2)}\n`);
      return;
    }
    const rows = list.map((ns) => [
      ns.name,
      ns.files === undefined ? '-' : `${ns.files} file${ns.files === 1 ? '' : 's'}`,
      ns.bytes === undefined ? '-' : formatBytes(ns.bytes),
    ]);
    const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((row) => row[i]!.length)));
    await ctx.write(
      rows
        .map(
          ([name, files, bytes]) =>
            `${name!.padEnd(widths[0]!)}  ${files!.padStart(widths[1]!)}  ${bytes!.padStart(widths[2]!)}\n`,
        )
        .join(''),
    );
  },
};
