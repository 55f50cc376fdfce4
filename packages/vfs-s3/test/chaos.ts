import type { S3Client } from '@aws-sdk/client-s3';

/**
 * Injects failures into a client: once `arm(n)` was called, the n-th request after it (and every
 * later one, until `disarm`) fails before it is sent. The error is not retryable, like a crash.
 */
export function chaos(client: S3Client) {
  let calls = 0;
  let failFrom = Number.POSITIVE_INFINITY;
  client.middlewareStack.add(
    (next) => async (args) => {
      calls++;
      if (calls > failFrom) throw new Error('chaos: injected failure');
      return next(args);
    },
    { step: 'initialize', name: 'chaos' },
  );
  return {
    get calls() {
      return calls;
    },
    arm(after: number) {
      failFrom = calls + after;
    },
    disarm() {
      failFrom = Number.POSITIVE_INFINITY;
    },
  };
}
