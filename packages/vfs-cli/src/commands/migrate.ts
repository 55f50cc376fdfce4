import { parseStoreUrl } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { expectCount, takeStore } from '../operands.js';
import { backendFor } from '../stores.js';

/** `eryx-vfs migrate`: brings a store's schema to the version this eryx-vfs writes. */
export const migrate: CommandSpec = {
  name: 'migrate',
  summary: "bring a store's schema up to date (--dry-run: only say what would be done)",
  usage: ['migrate [--dry-run] [--json] [<store-url>]'],
  options: {
    'dry-run': {
      type: 'boolean',
      short: 'n',
      description: 'report what would be done; change nothing, create nothing',
    },
    json: { type: 'boolean', description: 'print one JSON document: { store, from, to, steps, applied }' },
  },
  details: [
    'Opening a store migrates it too; this command does it explicitly, and reports the steps. Idempotent: a current store is only read. Never drops data. A store without any schema yet is created (except with --dry-run).',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 0, 'nothing');
    const url = parseStoreUrl(store, { cwd: ctx.io.cwd });
    const dryRun = values['dry-run'] === true;
    const report = await (await backendFor(url)).migrate(url, { dryRun });
    const href = url.href.replace(/#.*$/, '');
    if (values.json === true) {
      await ctx.write(`${JSON.stringify({ store: href, ...report, dryRun }, null, 2)}\n`);
      return;
    }
    const from = report.from === null ? 'no store yet' : `version ${report.from}`;
    const lines: string[] = [];
    if (report.steps.length === 0) lines.push(`${href}: schema is current (version ${report.to})`);
    else {
      lines.push(`${href}: ${from} -> version ${report.to}${dryRun ? ' (dry run: nothing changed)' : ''}`);
      for (const step of report.steps) lines.push(`  - ${step}`);
    }
    await ctx.write(`${lines.join('\n')}\n`);
  },
};
