import { spawn } from 'node:child_process';
import { readSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FilesystemClock } from '../fs-clock.js';
import { bestOf, type GuestPhase } from './phases.js';
import { guestTargets } from './targets.js';

/*
 * The measuring processes: each measurement runs in a fresh Node process (src/guest-child.ts) that
 * prints its result on one line. Parent side: spawning them, and giving gated ones their go in
 * turn. Child side: runGuestTarget and the stdin its gated guest blocks on.
 */

/** What a measuring process is asked to run. */
export interface GuestChildRequest {
  target: string;
  /** The measured runs' guest arguments (each run gets its own `dir=`). */
  args: string[];
  /** How many measured runs, each a fresh component instance; the best time per phase is kept. */
  runs: number;
  /** Iterations of every phase within each measured run (the guest's `iterations=`). */
  iterations: number;
  /** The untimed warm-up run's guest arguments. */
  warm: string[];
  /**
   * The guest waits for a go on this process's stdin before each measured phase (`gate=1`), and the
   * process prints `guest-waiting` when it does (see runGatedInChildren).
   */
  gated?: boolean;
}

const RESULT_PREFIX = 'guest-result ';

/** Printed by a gated measuring process each time its guest waits for the go of its next phase. */
const WAITING = 'guest-waiting';

/**
 * A measuring process: a fresh Node process with the same flags as this one (tsx) and `--expose-gc`,
 * given here rather than to the bench process, whose workers (`run()` of @eryx/vfs-run) refuse it.
 */
function spawnChild(
  request: GuestChildRequest,
  env: Record<string, string>,
  onWaiting: () => void,
): { result: Promise<GuestPhase[]>; go(): void } {
  const script = fileURLToPath(new URL('../guest-child.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--expose-gc', script, JSON.stringify(request)],
    {
      env: { ...process.env, ...env },
      stdio: [request.gated ? 'pipe' : 'ignore', 'pipe', 'inherit'],
    },
  );
  const result = new Promise<GuestPhase[]>((resolve, reject) => {
    let out = '';
    let scanned = 0;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      out += text;
      for (let end = out.indexOf('\n', scanned); end >= 0; end = out.indexOf('\n', scanned)) {
        if (out.slice(scanned, end) === WAITING) onWaiting();
        scanned = end + 1;
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as GuestPhase[]);
      else
        reject(
          new Error(`${request.target}: the measuring process ended with ${signal ?? `status ${code}`}`),
        );
    });
  });
  // A process that ends while a go is on its way is reported by its exit, not by the broken pipe.
  child.stdin?.on('error', () => {});
  return { result, go: () => child.stdin?.write(new Uint8Array([1])) };
}

/** Runs one measurement in a measuring process. */
export function runInChild(request: GuestChildRequest, env: Record<string, string>): Promise<GuestPhase[]> {
  return spawnChild(request, env, () => {}).result;
}

/**
 * Measures gated targets phase by phase in turn: each in its own measuring process (so that neither
 * shapes the JIT state of the other), with its guest waiting for a go before every phase. A go is
 * given only while every other process waits or has ended, in turn, so each phase of one target is
 * timed right after or before the same phase of the other, in the same moments of the machine
 * (whose speed drifts by tens of percent over seconds here), and never beside another process's
 * work. The warm-ups run before the first go.
 */
export function runGatedInChildren(
  requests: GuestChildRequest[],
  env: Record<string, string>,
): Promise<PromiseSettledResult<GuestPhase[]>[]> {
  type Child = { state: 'busy' | 'waiting' | 'ended'; go(): void };
  const children: Child[] = [];
  let turn = 0;
  const schedule = () => {
    if (children.some((c) => c.state === 'busy')) return;
    for (let k = 0; k < children.length; k++) {
      const child = children[(turn + k) % children.length]!;
      if (child.state !== 'waiting') continue;
      turn = (turn + k + 1) % children.length;
      child.state = 'busy';
      child.go();
      return;
    }
  };
  const results = requests.map((request) => {
    const child: Child = { state: 'busy', go: () => {} };
    const spawned = spawnChild({ ...request, gated: true }, env, () => {
      child.state = 'waiting';
      schedule();
    });
    child.go = spawned.go;
    children.push(child);
    return spawned.result.finally(() => {
      child.state = 'ended';
      schedule();
    });
  });
  return Promise.allSettled(results);
}

/**
 * The body of a measuring process: opens the target's store (its server found through the
 * environment), runs the untimed warm-up, then the measured runs, each from a collected heap, and
 * prints the best time of each phase on one `guest-result` line.
 */
export async function runGuestTarget(request: GuestChildRequest): Promise<void> {
  const target = guestTargets.find((t) => t.name === request.target);
  if (!target) throw new Error(`unknown guest target ${request.target}`);
  const session = await target.open();
  try {
    await session.run(request.warm);
    let best: GuestPhase[] = [];
    for (let run = 0; run < request.runs; run++) {
      (globalThis as { gc?: () => void }).gc?.();
      const gate = request.gated ? { stdin: waitForGo, clock: new FilesystemClock() } : undefined;
      const args = [
        `dir=/data/run${run}`,
        `iterations=${request.iterations}`,
        ...(gate ? ['gate=1'] : []),
        ...request.args,
      ];
      best = bestOf(best, await session.run(args, gate));
    }
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(best)}\n`);
  } finally {
    await session.close();
    await target.shutdown?.();
  }
}

/** A gated guest's stdin: says it waits, then blocks until the parent's go arrives on fd 0. */
function waitForGo(): Uint8Array | null {
  writeSync(1, `${WAITING}\n`);
  const go = new Uint8Array(1);
  for (;;) {
    try {
      return readSync(0, go, 0, 1, null) === 1 ? go : null;
    } catch (error) {
      // A pipe left non-blocking: wait a millisecond and ask again.
      if ((error as { code?: string }).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
