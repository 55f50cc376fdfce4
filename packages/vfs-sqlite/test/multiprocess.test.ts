import { describe, expect, it } from 'vitest';
import { sqlite } from '../src/index.js';
import { lines, startChild } from './children.js';
import { randomNamespace, tempDb } from './helpers.js';

const APPENDS = 1000;
const LINKED_APPENDS = 500;
const CREATES = 500;

/**
 * Starts one child per `[id, args]` with `script`, says "go" to all once all are ready (so they
 * race), and waits until every one exited cleanly. Returns each child's id and output.
 */
async function race<Id extends string>(script: string, starts: [Id, string[]][]) {
  const children = starts.map(([id, args]) => {
    const child = startChild(script, args);
    return { id, child, out: lines(child) };
  });
  await Promise.all(children.map((c) => c.out.waitFor((line) => line === 'ready')));
  for (const c of children) c.child.stdin!.write('go\n');
  const results = await Promise.all(children.map((c) => c.out.exited));
  for (const [n, result] of results.entries()) {
    expect(result, children[n]!.out.stderr()).toEqual({ code: 0, signal: null });
  }
  return children;
}

/**
 * Checks that `content` holds exactly `appends` records of each of the children A and B, each whole
 * and in order, at the offsets their appends returned, and that the two really ran at the same time.
 */
function expectEveryRecord(
  content: string,
  children: { id: 'A' | 'B'; out: { seen: string[] } }[],
  appends: number,
) {
  const records = content.split('\n');
  expect(records.pop()).toBe('');
  expect(records).toHaveLength(2 * appends);

  const next = { A: 0, B: 0 };
  const offsets = { A: [] as number[], B: [] as number[] };
  let at = 0;
  for (const record of records) {
    const match = /^<([AB]):(\d+):(x*)>$/.exec(record);
    expect(match, `torn record at offset ${at}: ${record}`).not.toBeNull();
    const id = match![1] as 'A' | 'B';
    const seq = Number(match![2]);
    expect(seq).toBe(next[id]);
    expect(match![3]!.length).toBe(seq % 37);
    next[id]++;
    offsets[id].push(at);
    at += record.length + 1;
  }
  expect(next).toEqual({ A: appends, B: appends });
  // Each append returned the offset its record really landed at.
  for (const c of children) {
    const reported = JSON.parse(c.out.seen.at(-1)!) as number[];
    expect(reported).toEqual(offsets[c.id]);
  }
  // Both really ran at the same time: their records interleave at the record level.
  const switches = records.filter((r, i) => i > 0 && r[1] !== records[i - 1]![1]).length;
  expect(switches).toBeGreaterThan(10);
}

describe('two processes appending to one file', () => {
  it('lose nothing and interleave nothing', async () => {
    const path = tempDb('multiprocess');
    const namespace = randomNamespace();
    // The parent creates the schema and the namespace; the children only open them.
    await sqlite({ path, namespace }).close();

    const children = await race(
      'appender.mjs',
      (['A', 'B'] as const).map((id, n) => [
        id,
        [path, namespace, id, String(APPENDS), n ? 'sync' : 'async'],
      ]),
    );

    const storage = sqlite({ path, namespace });
    const content = new TextDecoder().decode(await storage.read('/log'));
    await storage.close();
    expectEveryRecord(content, children, APPENDS);
  });

  it('through two names of it (hard links), lose nothing either: both names see every record', async () => {
    const path = tempDb('multiprocess');
    const namespace = randomNamespace();
    const parent = sqlite({ path, namespace });
    await parent.mkdir('/d');
    await parent.create('/log');
    await parent.link('/log', '/d/alias');
    await parent.close();

    // Each appends at the end as its own name's row gives it: right only if every append moves
    // the size of both names in its transaction.
    const children = await race(
      'appender.mjs',
      (['A', 'B'] as const).map((id, n) => [
        id,
        [path, namespace, id, String(LINKED_APPENDS), n ? 'sync' : 'async', n ? '/d/alias' : '/log'],
      ]),
    );

    const storage = sqlite({ path, namespace });
    const content = await storage.read('/log');
    expect(await storage.read('/d/alias')).toEqual(content);
    const [log, alias] = [await storage.stat('/log'), await storage.stat('/d/alias')];
    expect(alias).toEqual(log);
    expect(log).toMatchObject({ size: content.length, linkCount: 2 });
    expect(await storage.info()).toMatchObject({ files: 1, bytes: content.length + 'logdalias'.length });
    await storage.close();
    expectEveryRecord(new TextDecoder().decode(content), children, LINKED_APPENDS);
  });
});

describe('four processes creating the same files', () => {
  it('make exactly one winner per path', async () => {
    const path = tempDb('multiprocess');
    const namespace = randomNamespace();
    const parent = sqlite({ path, namespace });
    await parent.mkdir('/locks');
    await parent.close();

    // Two children go up from /locks/0 and two down from the last, each pair head to head on every
    // path, so that however the scheduler favours one of them, both directions win some paths.
    const children = await race(
      'creator.mjs',
      (['A', 'B', 'C', 'D'] as const).map((id, n) => [
        id,
        [path, namespace, id, String(CREATES), n % 2 ? 'sync' : 'async', n < 2 ? 'up' : 'down'],
      ]),
    );

    const winners = new Map<number, string[]>();
    for (const c of children) {
      const won = JSON.parse(c.out.seen.at(-1)!) as number[];
      for (const n of won) winners.set(n, [...(winners.get(n) ?? []), c.id]);
    }
    for (let n = 0; n < CREATES; n++) expect(winners.get(n), `/locks/${n}`).toHaveLength(1);
    expect(winners.size).toBe(CREATES);
    // Really a race: more than one process won some paths.
    expect(new Set([...winners.values()].flat()).size).toBeGreaterThan(1);

    const storage = sqlite({ path, namespace });
    const listed = await storage.list('/locks');
    // Empty files: the usage is their names and the directory's.
    let names = 'locks'.length;
    for (let n = 0; n < CREATES; n++) names += String(n).length;
    expect(await storage.info()).toMatchObject({ files: CREATES, bytes: names });
    await storage.close();
    expect(listed).toHaveLength(CREATES);
    expect(listed.every((e) => e.kind === 'file' && e.size === 0)).toBe(true);
  });
});
