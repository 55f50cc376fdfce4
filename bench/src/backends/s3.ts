import { randomUUID } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type S3TestServer, startS3 } from '@eryx/test-servers';
import { dropS3Url, openS3Url } from '@eryx/vfs-s3';
import type { BenchBackend, BenchTarget } from '../types.js';

/** The VFS's default chunk size, used by both targets. */
const CS = 1024 * 1024;
/**
 * The VFS's chunk cache (default 32 MiB, as in the package). `BENCH_S3_CHUNK_CACHE=0` turns it off,
 * so every read and read-modify-write goes to S3 as in the raw ceiling.
 */
const chunkCacheBytes = process.env.BENCH_S3_CHUNK_CACHE
  ? Number(process.env.BENCH_S3_CHUNK_CACHE)
  : undefined;

function isMissing(error: unknown): boolean {
  return (error as { name?: string }).name === 'NoSuchKey';
}

/**
 * The ceiling: a file is its chunk objects `<prefix><path>#<index>` of the same chunk size as the
 * VFS, written and read with plain PutObject / GetObject (ranged) through the same client; a
 * directory is an empty marker object. File sizes live only in memory (as the VFS's own entry cache
 * does in single-writer mode), so stat costs no request; list is one real LIST walk. No entry
 * objects, times, versions, journals or checks: each operation does the chunk I/O it must.
 */
function rawS3(client: S3Client, bucket: string, prefix: string): BenchTarget {
  const sizes = new Map<string, number>();
  const key = (path: string, index: number) => `${prefix}${path.slice(1)}#${index}`;
  const put = (k: string, body: Uint8Array) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: body, ContentLength: body.length }));
  const get = async (k: string, range?: string): Promise<Uint8Array | undefined> => {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: k, Range: range }));
      return await out.Body!.transformToByteArray();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };
  const remove = async (keys: string[]) => {
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
    }
  };
  // Read-modify-write of every chunk the range touches.
  const writeAt = async (path: string, offset: number, data: Uint8Array) => {
    const size = sizes.get(path) ?? 0;
    const end = offset + data.length;
    const work: Promise<unknown>[] = [];
    for (let index = Math.floor(offset / CS); index * CS < end; index++) {
      const start = Math.max(offset, index * CS) - index * CS;
      const stop = Math.min(end, (index + 1) * CS) - index * CS;
      work.push(
        (async () => {
          const existing = Math.min(CS, Math.max(0, size - index * CS));
          const keep = existing > 0 && !(start === 0 && stop >= existing);
          const old = keep ? await get(key(path, index)) : undefined;
          const chunk = new Uint8Array(Math.max(stop, old?.length ?? 0));
          if (old) chunk.set(old);
          chunk.set(data.subarray(index * CS + start - offset, index * CS + stop - offset), start);
          await put(key(path, index), chunk);
        })(),
      );
    }
    await Promise.all(work);
    sizes.set(path, Math.max(size, end));
  };
  return {
    async mkdir(path) {
      await put(`${prefix}${path.slice(1)}/`, new Uint8Array(0));
    },
    async write(path, data) {
      const old = sizes.get(path) ?? 0;
      const count = Math.max(1, Math.ceil(data.length / CS));
      await Promise.all(
        Array.from({ length: count }, (_, i) => put(key(path, i), data.subarray(i * CS, (i + 1) * CS))),
      );
      const stale = Array.from({ length: Math.ceil(old / CS) }, (_, i) => i).filter((i) => i >= count);
      if (stale.length > 0) await remove(stale.map((i) => key(path, i)));
      sizes.set(path, data.length);
    },
    writeAt,
    async readAt(path, offset, length) {
      const size = sizes.get(path) ?? 0;
      const end = Math.min(size, offset + length);
      if (end <= offset) return new Uint8Array(0);
      const out = new Uint8Array(end - offset);
      const work: Promise<unknown>[] = [];
      for (let index = Math.floor(offset / CS); index * CS < end; index++) {
        const start = Math.max(offset, index * CS) - index * CS;
        const stop = Math.min(end, (index + 1) * CS) - index * CS;
        work.push(
          (async () => {
            const data = await get(key(path, index), `bytes=${start}-${stop - 1}`);
            if (data) out.set(data.subarray(0, stop - start), index * CS + start - offset);
          })(),
        );
      }
      await Promise.all(work);
      return out;
    },
    async append(path, data) {
      const at = sizes.get(path) ?? 0;
      await writeAt(path, at, data);
      return at;
    },
    async setSize(path, size) {
      const old = sizes.get(path) ?? 0;
      if (size < old) {
        const keep = Math.ceil(size / CS);
        const stale = Array.from({ length: Math.ceil(old / CS) - keep }, (_, i) => key(path, keep + i));
        if (stale.length > 0) await remove(stale);
        if (size % CS !== 0) {
          const last = await get(key(path, keep - 1));
          if (last) await put(key(path, keep - 1), last.subarray(0, size % CS));
        }
      } else if (old === 0) {
        await put(key(path, 0), new Uint8Array(0));
      }
      sizes.set(path, size);
    },
    async list(path) {
      const dir = path === '/' ? prefix : `${prefix}${path.slice(1)}/`;
      const names = new Set<string>();
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: dir, Delimiter: '/', ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) names.add(o.Key!.slice(dir.length).replace(/#\d+$/, ''));
        for (const p of page.CommonPrefixes ?? []) names.add(p.Prefix!.slice(dir.length, -1));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      names.delete('');
      return [...names].map((name) => ({ name }));
    },
    async stat(path) {
      return { size: sizes.get(path) ?? 0 };
    },
    async delete(path) {
      const count = Math.max(1, Math.ceil((sizes.get(path) ?? 0) / CS));
      await remove(Array.from({ length: count }, (_, i) => key(path, i)));
      sizes.delete(path);
    },
  };
}

let server: Promise<S3TestServer> | undefined;

const backend: BenchBackend = {
  name: 's3',
  async open() {
    server ??= startS3();
    const info = await server;
    const client = new S3Client({
      endpoint: info.endpoint,
      region: info.region,
      forcePathStyle: true,
      credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
      maxAttempts: 5,
    });
    const run = `bench-${randomUUID().slice(0, 8)}`;
    // The VFS and the ceiling share the client, which a URL cannot carry.
    const storage = await openS3Url(info.storeUrl(`${run}/vfs`, { chunkSize: CS }), {
      client,
      chunkCacheBytes,
    });
    const rawPrefix = `${run}/raw/`;
    return {
      storage,
      raw: rawS3(client, info.bucket, rawPrefix),
      async close() {
        await storage.close();
        await dropS3Url(info.storeUrl(run), { client });
        client.destroy();
      },
    };
  },
  async shutdown() {
    if (server) await (await server).stop();
    server = undefined;
  },
};

export default backend;
