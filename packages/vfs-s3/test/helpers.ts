import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { type S3Storage, type S3StorageOptions, s3 } from '../src/index.js';
import { emulateConditionalWrites } from './conditional.js';

/** Connection options of the test server. */
export function serverOptions(): Omit<S3StorageOptions, 'prefix'> {
  const server = inject('s3');
  return {
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
}

export function randomPrefix(tag = 'fs'): string {
  return `${tag}-${randomBytes(6).toString('hex')}`;
}

export function newClient(): S3Client {
  const o = serverOptions();
  return new S3Client({
    endpoint: o.endpoint,
    region: o.region,
    forcePathStyle: true,
    credentials: o.credentials,
  });
}

export function freshStorage(options: Partial<S3StorageOptions> = {}) {
  return s3({ ...serverOptions(), prefix: randomPrefix(), ...options });
}

/**
 * Storage on `prefix` in conditional mode (emulated: the test server ignores conditional writes),
 * with a client of its own (`storage.client`) that `close` releases too, as another process would
 * hold.
 */
export function conditionalStorage(prefix: string, options: Partial<S3StorageOptions> = {}): S3Storage {
  const client = emulateConditionalWrites(newClient());
  const storage = s3({ ...serverOptions(), client, prefix, conditionalWrites: true, ...options });
  const close = storage.close;
  return Object.assign(storage, {
    async close() {
      await close();
      client.destroy();
    },
  });
}

/** Every key under a prefix, read straight from the bucket. */
export async function rawKeys(client: S3Client, prefix: string): Promise<string[]> {
  const bucket = inject('s3').bucket;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array) => new TextDecoder().decode(b);
export const pattern = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 31 + seed) % 251);

/** Counts the requests a storage sends from now on, by command. */
export function count(fs: S3Storage): Record<string, number> {
  const counts: Record<string, number> = {};
  fs.client.middlewareStack.add(
    (next, context) => async (args) => {
      counts[context.commandName!] = (counts[context.commandName!] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: `count-${Math.random()}` },
  );
  return counts;
}
