import { Worker } from 'node:worker_threads';

/*
 * Guest workers. Starting a worker (a V8 isolate that loads core's WASI host) costs tens of
 * milliseconds, so a worker whose guest ended cleanly waits, unreferenced, for the next run; and
 * each worker imports a component's transpiled JS only once.
 */

/** Idle workers kept at most: enough for a couple of concurrent runs in a row. */
const MAX_IDLE = 2;
const idle: Worker[] = [];

function spawn(): Worker {
  const worker = new Worker(new URL('./worker.js', import.meta.url));
  // An idle worker that dies (it should not) is simply forgotten.
  worker.on('exit', () => {
    const index = idle.indexOf(worker);
    if (index >= 0) idle.splice(index, 1);
  });
  worker.on('error', () => {});
  return worker;
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
