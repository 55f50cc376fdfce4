import { Worker } from 'node:worker_threads';
import type { PreloadRequest } from './protocol.js';

/*
 * Guest workers. Starting a worker (a V8 isolate that loads core's WASI host) costs tens of
 * milliseconds, so a worker whose guest ended cleanly waits, unreferenced, for the next run; and
 * each worker imports a component's transpiled JS only once.
 */

/** Idle workers kept at most: enough for a couple of concurrent runs in a row. */
const MAX_IDLE = 2;
const idle: Worker[] = [];

/** Options of the main script that a worker refuses to inherit (`node --input-type=module -e …`). */
const MAIN_ONLY = /^(--input-type|--eval|--print|-e|-p|-pe)(=|$)/;

/** The process's Node options minus those that only make sense for its main script. */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    if (!MAIN_ONLY.test(flag)) {
      out.push(flag);
      continue;
    }
    // `-e code`, `--eval code`, `--input-type module`: their value is the next argument.
    if (
      !flag.includes('=') &&
      i + 1 < execArgv.length &&
      (/^-[ep]|^--(eval|print)$/.test(flag) || flag === '--input-type')
    )
      i++;
  }
  return out;
}

/** The options workers get; none once Node refused this process's (`--expose-gc`, say). */
let inherited: string[] | undefined;

function spawn(): Worker {
  const url = new URL('./worker.js', import.meta.url);
  inherited ??= workerExecArgv();
  let worker: Worker;
  try {
    worker = new Worker(url, { execArgv: inherited });
  } catch (error) {
    // Node refuses per-process options for a worker; the guest worker needs none of them.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    inherited = [];
    worker = new Worker(url, { execArgv: inherited });
  }
  // An idle worker that dies (it should not) is simply forgotten.
  worker.on('exit', () => {
    const index = idle.indexOf(worker);
    if (index >= 0) idle.splice(index, 1);
  });
  worker.on('error', () => {});
  return worker;
}

/**
 * Makes sure a worker waits for the next run, starting one if none is idle, and has it import a
 * component's JS (`js`, a `file:` URL) now: the run that takes it skips both.
 */
export function prestartWorker(js?: string): void {
  let worker = idle.at(-1);
  if (!worker) {
    worker = spawn();
    worker.unref();
    idle.push(worker);
  }
  if (js !== undefined) worker.postMessage({ type: 'preload', js } satisfies PreloadRequest);
}

/** A worker for one run: an idle one, else a new one. It keeps the process alive until released. */
export function acquireWorker(): Worker {
  const worker = idle.pop() ?? spawn();
  worker.ref();
  return worker;
}

/** Gives a worker whose guest ended cleanly back for the next run (or ends it, when enough wait). */
export function releaseWorker(worker: Worker): void {
  if (idle.length >= MAX_IDLE) {
    void worker.terminate();
    return;
  }
  worker.unref();
  idle.push(worker);
}

/** Ends a worker for good (its guest was killed, trapped or crashed). */
export function discardWorker(worker: Worker): Promise<number> {
  return worker.terminate();
}
