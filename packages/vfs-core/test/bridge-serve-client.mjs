// The connecting end of the serveStorage tests: a worker that connects to workerData.channel and
// runs workerData.steps ([operation, ...args]) in order, synchronously, then posts what each
// returned ({ value } or { error: { code, message } }) and every onDirty report.
import { parentPort, workerData } from 'node:worker_threads';
import { connectSyncBridge } from '../dist/bridge/index.js';

const dirty = [];
const results = [];
let bridge;
try {
  bridge = connectSyncBridge(workerData.channel, {
    ...workerData.options,
    onDirty: (path, bytes) => dirty.push([path, bytes]),
  });
  for (const [op, ...args] of workerData.steps) {
    const started = performance.now();
    try {
      const value = bridge[op](...args);
      results.push({ value: value instanceof Uint8Array ? new TextDecoder().decode(value) : value });
    } catch (error) {
      results.push({ error: { code: error.code, message: error.message }, ms: performance.now() - started });
    }
  }
} catch (error) {
  results.push({ error: { code: error.code, message: error.message } });
}
parentPort.postMessage({ results, dirty });
