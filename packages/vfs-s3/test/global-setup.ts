import { startS3 } from '@eryx/test-servers';
import type { TestProject } from 'vitest/node';

export interface S3ServerInfo {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  kind: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3ServerInfo;
  }
}

/** Starts one S3 server for the whole run (env > MinIO container > s3rver) and stops it after. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startS3();
  // Only plain fields cross to the test workers.
  const { endpoint, region, accessKeyId, secretAccessKey, bucket, kind } = server;
  project.provide('s3', { endpoint, region, accessKeyId, secretAccessKey, bucket, kind });
  return server.stop;
}
