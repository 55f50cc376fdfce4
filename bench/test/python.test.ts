import { describe, expect, it } from 'vitest';
import {
  benchPython,
  type FileHeavyTimes,
  formatPython,
  mark,
  PYTHON_BACKENDS,
  type PythonBenchResult,
  parseScriptOutput,
  selectPythonBackends,
} from '../src/python.js';

const t = (median: number) => ({ median, best: median, samples: [median] });

describe('the Python workload', () => {
  it('marks a value within its target (at most) ok, else MISSED', () => {
    expect(mark(60, 60)).toBe('ok');
    expect(mark(59.9, 60)).toBe('ok');
    expect(mark(60.1, 60)).toBe('MISSED');
  });

  it("reads the file-heavy script's times from its last line", () => {
    expect(parseScriptOutput('noise\n{"files_ms": 12.5, "sqlite_ms": 30}\n')).toEqual({
      files: 12.5,
      sqlite: 30,
    });
    expect(() => parseScriptOutput('Traceback ...')).toThrow(/no JSON times/);
    expect(() => parseScriptOutput('{"files_ms": 1}')).toThrow(/unexpected output/);
  });

  it('picks the backends BENCH_BACKENDS names, memory bringing memory-object', () => {
    expect(selectPythonBackends()).toEqual([...PYTHON_BACKENDS]);
    expect(selectPythonBackends(['s3', 'memory'])).toEqual(['memory', 'memory-object', 's3']);
    expect(selectPythonBackends(['p2shim-disk'])).toEqual([]);
  });

  it('marks start-up medians against 60 and 400 ms, and SQLite ÷ host against 3', () => {
    const row = (target: string, script: number, scriptRatio: number): FileHeavyTimes => ({
      target,
      files: t(script / 2),
      sqlite: t(script / 2),
      script: t(script),
      wall: t(script + 100),
      scriptRatio,
      wallRatio: 1,
    });
    const result: PythonBenchResult = {
      files: 1000,
      rounds: 1,
      starts: 1,
      host: { command: 'python3', version: '3.11.7' },
      startup: { warm: t(59), fresh: t(401), host: t(20) },
      fileHeavy: [
        row('host', 100, 1),
        row('memory', 500, 5),
        row('sqlite', 310, 3.1),
        { target: 's3', error: 'boom\nat line 2' },
      ],
    };
    const lines = formatPython(result);
    expect(lines).toContain('| python() again in this process | 59 (59) | ≤ 60 | ok |');
    expect(lines).toContain('| a fresh node process: import, python() once | 401 (401) | ≤ 400 | MISSED |');
    expect(lines).toContain("| the host's python3 -c pass (CPython 3.11.7) | 20 (20) | | |");
    // Only SQLite has a target; the other ratios are for information.
    expect(lines).toContain('| memory | 250 (250) | 250 (250) | 500 (500) | 600 (600) | 5.00 | 1.00 |');
    expect(lines).toContain(
      '| sqlite | 155 (155) | 155 (155) | 310 (310) | 410 (410) | 3.10 MISSED | 1.00 |',
    );
    expect(lines).toContain('| s3 | FAILED: boom at line 2 | | | | | |');
    expect(lines.at(-1)).toBe('\nTarget: sqlite script ÷ host ≤ 3: MISSED.');

    const { scriptRatio, wallRatio, ...noHost } = row('sqlite', 310, 1);
    const alone = formatPython({ ...result, host: undefined, fileHeavy: [noHost] });
    expect(alone).toContain('| sqlite | 155 (155) | 155 (155) | 310 (310) | 410 (410) | - | - |');
    expect(alone.at(-1)).toMatch(/No host CPython .*ratios are unavailable/);
  });

  it('runs one tiny round of everything on every backend, and of the host CPython', async () => {
    const result = await benchPython({ backends: PYTHON_BACKENDS, files: 3, rounds: 1, starts: 1 });
    for (const way of [result.startup.warm, result.startup.fresh]) {
      expect(way.samples).toHaveLength(1);
      expect(way.best).toBeGreaterThan(0);
    }
    const targets = result.host ? ['host', ...PYTHON_BACKENDS] : [...PYTHON_BACKENDS];
    expect(result.fileHeavy.map((row) => row.target)).toEqual(targets);
    const [first] = result.fileHeavy as FileHeavyTimes[];
    for (const row of result.fileHeavy) {
      expect(row).not.toHaveProperty('error');
      const times = row as FileHeavyTimes;
      expect(times.script.samples).toHaveLength(1);
      expect(times.script.median).toBeCloseTo(times.files.median + times.sqlite.median, 6);
      expect(times.wall.median).toBeGreaterThan(times.script.median);
      if (result.host) expect(times.scriptRatio).toBeCloseTo(times.script.median / first!.script.median, 6);
    }
  }, 300_000);
});
