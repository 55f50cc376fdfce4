import { describe, expect, it } from 'vitest';
import { benchCliRun, formatCliRun, summarize } from '../src/cli-run.js';

describe('the CLI run workload', () => {
  it('summarizes samples as their median and best', () => {
    expect(summarize([30, 10, 20])).toEqual({ median: 20, best: 10, samples: [30, 10, 20] });
    expect(summarize([40, 10, 20, 30]).median).toBe(25);
  });

  it('marks each ratio against the 1.5 target', () => {
    const t = (median: number) => ({ median, best: median, samples: [median] });
    const lines = formatCliRun(
      [{ mount: 'memory', cli: t(300), warm: t(100), script: t(250), cliOverWarm: 3, cliOverScript: 1.2 }],
      1,
    );
    expect(lines.at(-1)).toBe('| memory | 300 (300) | 100 (100) | 250 (250) | 3.00 MISSED | 1.20 ok |');
  });

  it('runs the built eryx-vfs, run() in process and run() in a fresh node, over a memory: mount', async () => {
    const [row] = await benchCliRun({ mounts: ['memory'], rounds: 1 });
    expect(row!.mount).toBe('memory');
    for (const way of [row!.cli, row!.warm, row!.script]) {
      expect(way.samples).toHaveLength(1);
      expect(way.best).toBeGreaterThan(0);
    }
    expect(row!.cliOverWarm).toBeCloseTo(row!.cli.median / row!.warm.median, 10);
  }, 120_000);
});
