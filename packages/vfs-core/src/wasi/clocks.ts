import { type Shim, shim } from './shim.js';

type Pollable = ReturnType<Shim['io']['pollableCreate']>;

/*
 * Guest calls are synchronous (no JSPI), so waiting must block the calling thread. The browser
 * shim's poll answers with a Promise, which a synchronous import cannot return; these replace it.
 * Clock pollables remember their deadline so `poll` and `block` can sleep until it.
 */

const deadlines = new WeakMap<Pollable, bigint>();
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function now(): bigint {
  return process.hrtime.bigint();
}

function sleepUntil(deadline: bigint): void {
  for (;;) {
    const remaining = deadline - now();
    if (remaining <= 0n) return;
    Atomics.wait(sleeper, 0, 0, Math.max(1, Number(remaining / 1_000_000n)));
  }
}

function pollableAt(deadline: bigint): Pollable {
  const pollable = shim().io.pollableCreate({
    ready: () => now() >= deadline,
    wait: () => {
      sleepUntil(deadline);
      return Promise.resolve();
    },
  });
  deadlines.set(pollable, deadline);
  return pollable;
}

/** `wasi:clocks/monotonic-clock`, with pollables a synchronous guest can block on. */
export const monotonicClock = {
  now,
  resolution: (): bigint => 1n,
  subscribeInstant: (when: bigint): Pollable => pollableAt(when),
  subscribeDuration: (duration: bigint): Pollable => pollableAt(now() + duration),
};

function poll(list: Pollable[]): Uint32Array {
  if (list.length === 0) throw new RangeError('poll list must not be empty');
  for (;;) {
    const ready: number[] = [];
    list.forEach((pollable, i) => {
      if (pollable.ready()) ready.push(i);
    });
    if (ready.length > 0) return new Uint32Array(ready);
    let earliest: bigint | undefined;
    for (const pollable of list) {
      const deadline = deadlines.get(pollable);
      if (deadline !== undefined && (earliest === undefined || deadline < earliest)) earliest = deadline;
    }
    if (earliest === undefined) throw new Error('poll: none of the pollables can become ready');
    sleepUntil(earliest);
  }
}

/** `wasi:io/poll` whose `poll` blocks synchronously, over the shared browser `Pollable` class. */
export function ioPoll() {
  return {
    Pollable: shim().io.poll.Pollable,
    poll,
    pollList: poll,
    pollOne: (pollable: Pollable): void => {
      poll([pollable]);
    },
  };
}
