import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { expect, inject, it, vi } from 'vitest';
import { newClient, rawKeys, serverOptions } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

it('runs the README example as written', async () => {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const options = serverOptions();
  // The example's prefixes are fixed: start from empty ones.
  const client = newClient();
  const keys = await rawKeys(client, 'tenant-42/');
  if (keys.length > 0) {
    await client.send(
      new DeleteObjectsCommand({
        Bucket: options.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })) },
      }),
    );
  }
  const file = join(here, `.readme-example-${randomUUID()}.ts`);
  writeFileSync(file, example.replaceAll("from '@eryx/vfs-s3'", "from '../src/index.js'"));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const env = {
    S3_ENDPOINT: options.endpoint,
    S3_KEY_ID: inject('s3').accessKeyId,
    S3_SECRET: inject('s3').secretAccessKey,
    S3_BUCKET: options.bucket,
  };
  Object.assign(process.env, env);
  try {
    await import(file);
    expect(log).toHaveBeenCalledWith([{ name: 'hello.txt', kind: 'file', size: 11 }]);
    expect(log).toHaveBeenCalledWith(4);
    expect(log).toHaveBeenCalledWith(0, 0, 0);
  } finally {
    log.mockRestore();
    for (const name of Object.keys(env)) delete process.env[name];
    rmSync(file, { force: true });
    client.destroy();
  }
});
