import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { required, type StoreUrlParams, withParams } from './store-url.js';

/** An S3 endpoint for tests and benchmarks, with a bucket that exists. */
export interface S3TestServer {
  /** `http://host:port` of the S3 API. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket that exists (DNS-like name). */
  bucket: string;
  /** Stops what `startS3` started (nothing for `env`) and removes its data. */
  stop(): Promise<void>;
  /** Where the server came from: the environment, a MinIO container or an embedded s3rver. */
  kind: 'env' | 'testcontainers' | 'embedded';
  /** The `VFS_S3_*` variables that make `startS3` in another process (a test worker) find this server. */
  env: Record<string, string>;
  /** The store URL of the objects under `prefix` in the bucket (`s3://bucket/prefix?endpoint=…`). */
  storeUrl(prefix: string, params?: StoreUrlParams): string;
}

/**
 * The store URL of the objects under `prefix` in the bucket of the S3 server that `env` names
 * (`VFS_S3_ENDPOINT` and the other `VFS_S3_*`, with `startS3`'s defaults; the test setups set them):
 * `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true&accessKeyId=…&secretAccessKey=…&params`.
 */
export function s3StoreUrl(prefix: string, params?: StoreUrlParams, env = process.env): string {
  const path = prefix.split('/').map(encodeURIComponent).join('/');
  return withParams(`s3://${env.VFS_S3_BUCKET ?? DEFAULT_BUCKET}/${path}`, {
    endpoint: required(env, 'VFS_S3_ENDPOINT'),
    region: env.VFS_S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    accessKeyId: env.VFS_S3_ACCESS_KEY_ID ?? 'S3RVER',
    secretAccessKey: env.VFS_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
    ...params,
  });
}

type Started = Omit<S3TestServer, 'env' | 'storeUrl'>;

function withUrls(server: Started): S3TestServer {
  const env = {
    VFS_S3_ENDPOINT: server.endpoint,
    VFS_S3_REGION: server.region,
    VFS_S3_ACCESS_KEY_ID: server.accessKeyId,
    VFS_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    VFS_S3_BUCKET: server.bucket,
  };
  return { ...server, env, storeUrl: (prefix, params) => s3StoreUrl(prefix, params, env) };
}

const DEFAULT_BUCKET = 'vfs-test';
const MINIO_IMAGE = 'minio/minio:RELEASE.2025-04-22T22-12-26Z';

/**
 * Starts (or finds) an S3 server, in order of preference: `VFS_S3_ENDPOINT` (with
 * `VFS_S3_ACCESS_KEY_ID`, `VFS_S3_SECRET_ACCESS_KEY`, `VFS_S3_REGION`, `VFS_S3_BUCKET`), a MinIO
 * container when a Docker engine answers, else `s3rver` in a child process started with
 * `--openssl-legacy-provider` (without it s3rver on Node 20 fails LISTs of more than 1,000 keys).
 * Clients must use `forcePathStyle: true`.
 */
export async function startS3(): Promise<S3TestServer> {
  const env = process.env;
  if (env.VFS_S3_ENDPOINT) {
    const server = withUrls({
      endpoint: env.VFS_S3_ENDPOINT,
      region: env.VFS_S3_REGION ?? 'us-east-1',
      accessKeyId: env.VFS_S3_ACCESS_KEY_ID ?? 'S3RVER',
      secretAccessKey: env.VFS_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
      bucket: env.VFS_S3_BUCKET ?? DEFAULT_BUCKET,
      stop: async () => {},
      kind: 'env',
    });
    await ensureBucket(server);
    return server;
  }
  if (await dockerReachable()) return startMinio();
  return startS3rver();
}

async function startMinio(): Promise<S3TestServer> {
  const { MinioContainer } = await import('@testcontainers/minio');
  const container = await new MinioContainer(MINIO_IMAGE).start();
  const server = withUrls({
    endpoint: container.getConnectionUrl(),
    region: 'us-east-1',
    accessKeyId: container.getUsername(),
    secretAccessKey: container.getPassword(),
    bucket: DEFAULT_BUCKET,
    stop: async () => {
      await container.stop();
    },
    kind: 'testcontainers',
  });
  try {
    await ensureBucket(server);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

// Runs in the child: serves until its stdin closes (so it never outlives the parent). s3rver 3.7
// answers a PutObject before the object file is fully written (it resolves when the data was
// handed to the write stream), so a GET right after the PUT may read a short or empty object:
// the child replaces its putObject with one that writes a temporary file and renames it into
// place before answering, giving the read-after-write consistency that S3 and MinIO provide.
//
// Its LIST walks the bucket directory with readdirSync + statSync and answers 500 when a file
// vanishes in between (a concurrent DELETE, or the rename above): the child patches the walk, before
// s3rver loads it, to pass over such entries, as a real S3 listing does with concurrent deletes.
const CHILD_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const utils = require(path.join(path.dirname(process.env.S3RVER_MODULE), 'utils.js'));
const gone = (error) => error && error.code === 'ENOENT';
utils.walk = function* walk(dir, recurseFilter) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if (gone(error)) return;
    throw error;
  }
  for (const filename of names) {
    const filePath = path.posix.join(dir, filename);
    let stats;
    try {
      stats = fs.statSync(filePath);
    } catch (error) {
      if (gone(error)) continue;
      throw error;
    }
    if (!stats.isDirectory()) yield filePath;
    else if (!recurseFilter || recurseFilter(filePath)) yield* walk(filePath, recurseFilter);
  }
};
const S3rver = require(process.env.S3RVER_MODULE);
const FilesystemStore = require(path.join(path.dirname(process.env.S3RVER_MODULE), 'stores', 'filesystem.js'));
FilesystemStore.prototype.putObject = async function putObject(object) {
  let content = object.content;
  if (!Buffer.isBuffer(content)) {
    const parts = [];
    for await (const part of content) parts.push(part);
    content = Buffer.concat(parts);
  }
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  const temporary = objectPath + '.' + crypto.randomBytes(6).toString('hex') + '.tmp';
  await fs.promises.writeFile(temporary, content);
  await fs.promises.rename(temporary, objectPath);
  const md5 = crypto.createHash('md5').update(content).digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size: content.length, md5 };
};
const server = new S3rver({
  directory: process.env.S3RVER_DIRECTORY,
  address: '127.0.0.1',
  port: 0,
  silent: true,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET, configs: [] }],
});
server.run().then(
  ({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'),
  (error) => { console.error(error); process.exit(1); },
);
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

async function startS3rver(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'vfs-s3rver-'));
  const require = createRequire(import.meta.url);
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      S3RVER_MODULE: require.resolve('s3rver'),
      S3RVER_DIRECTORY: directory,
      S3RVER_BUCKET: DEFAULT_BUCKET,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const port = await readPort(child);
    return withUrls({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      bucket: DEFAULT_BUCKET,
      stop,
      kind: 'embedded',
    });
  } catch (error) {
    await stop();
    throw error;
  }
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error('s3rver did not start within 20 s')), 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    child.once('exit', (code) => fail(new Error(`s3rver exited with code ${code}`)));
    child.stdout?.on('data', (data: Buffer) => {
      buffer += data.toString();
      const line = buffer.split('\n')[0];
      if (line === undefined || !buffer.includes('\n')) return;
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function ensureBucket(server: Started): Promise<void> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: server.bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: server.bucket }));
  } finally {
    client.destroy();
  }
}

/** A quick check (under a second) that a Docker engine answers, without asking testcontainers. */
function dockerReachable(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  let target: { path: string } | { host: string; port: number };
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else {
    const path = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
    if (!existsSync(path)) return Promise.resolve(false);
    target = { path };
  }
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(800, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      socket.write('GET /_ping HTTP/1.0\r\n\r\n');
    });
    socket.once('data', (data: Buffer) => done(data.toString().startsWith('HTTP/1.') && data.includes('OK')));
  });
}
