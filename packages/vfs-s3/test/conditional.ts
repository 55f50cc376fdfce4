import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { KeyedQueue } from '@eryx/vfs-core';

// One queue for every client of the test process, so emulated writes are atomic across them.
const queue = new KeyedQueue();

/**
 * Makes a client behave like a server that honours `If-None-Match: *` on PutObject (s3rver ignores
 * it): the check and the write run under one in-process lock per key, and a taken key fails with
 * 412 PreconditionFailed as S3 answers. Atomic only among clients of this process: a test double
 * for the conditional mode, not a server feature.
 */
export function emulateConditionalWrites(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string; IfNoneMatch?: string };
      if (context.commandName !== 'PutObjectCommand' || input.IfNoneMatch !== '*') return next(args);
      return queue.run(`${input.Bucket}/${input.Key}`, async () => {
        try {
          await client.send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }));
        } catch (error) {
          if ((error as { name?: string }).name === 'NotFound') return next(args);
          throw error;
        }
        throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
          name: 'PreconditionFailed',
          $fault: 'client',
          $metadata: { httpStatusCode: 412 },
        });
      });
    },
    { step: 'initialize', name: 'emulateConditionalWrites' },
  );
  return client;
}
