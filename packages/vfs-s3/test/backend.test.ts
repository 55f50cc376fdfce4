import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { toVfsError } from '../src/errors.js';
import { openS3, type S3Storage, s3 } from '../src/index.js';
import { chaos } from './chaos.js';
import {
  bytes,
  count,
  freshStorage,
  newClient,
  pattern,
  randomPrefix,
  rawKeys,
  serverOptions,
  text,
} from './helpers.js';

describe('listing', () => {
  it('walks continuation tokens past 1,000 entries, with kind and size', async () => {
    const fs = freshStorage();
    try {
      await fs.mkdir('/many');
      const names = Array.from({ length: 1500 }, (_, i) => `f${i}`);
      for (let i = 0; i < names.length; i += 100) {
        await Promise.all(names.slice(i, i + 100).map((n, j) => fs.write(`/many/${n}`, pattern(j % 7))));
      }
      await fs.mkdir('/many/sub');
      // A second storage object has no cache: the listing comes from S3, one LIST walk.
      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      await other.ready();
      const requests = count(other);
      const entries = await other.list('/many');
      await other.close();
      // The lookup of /many, then two pages: no request per entry.
      expect(requests).toEqual({ ListObjectsV2Command: 3 });
      expect(entries).toHaveLength(1501);
      expect(entries.find((e) => e.name === 'sub')).toEqual({ name: 'sub', kind: 'directory', size: 0 });
      expect(entries.find((e) => e.name === 'f15')).toEqual({ name: 'f15', kind: 'file', size: 15 % 7 });
    } finally {
      await fs.close();
    }
  });

  it('keeps awkward names intact', async () => {
    const fs = freshStorage();
    const names = [
      'ünïcødé ✓ 名前',
      'a!b',
      '100%',
      '.hidden',
      '..x',
      'sp ace',
      'q?x#y&z=1+2',
      'tab\there',
      "o'k(1)*~",
    ];
    try {
      for (const n of names) await fs.write(`/${n}`, bytes(n));
      await fs.mkdir('/d!r');
      await fs.write('/d!r/in', bytes('in'));
      await fs.rename('/d!r', '/d%r');
      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      const listed = (await other.list('/')).map((e) => e.name).sort();
      expect(listed).toEqual([...names, 'd%r'].sort());
      for (const n of names) expect(text(await other.read(`/${n}`))).toBe(n);
      expect(text(await other.read('/d%r/in'))).toBe('in');
      await other.close();
    } finally {
      await fs.close();
    }
  });
});

describe('partial writes', () => {
  it('a 4 KiB writeAt into a large file uploads one chunk and the entry', async () => {
    const fs = freshStorage({ chunkSize: 64 * 1024 });
    try {
      await fs.write('/big', pattern(64 * 64 * 1024)); // 64 chunks
      await fs.flush();
      let uploaded = 0;
      fs.client.middlewareStack.add(
        (next) => async (args) => {
          const body = (args.input as { Body?: Uint8Array }).Body;
          if (body instanceof Uint8Array) uploaded += body.length;
          return next(args);
        },
        { step: 'initialize', name: 'bytes' },
      );
      const requests = count(fs);
      await fs.writeAt('/big', 30 * 64 * 1024 + 100, pattern(4096, 3));
      expect(requests).toEqual({ GetObjectCommand: 1, PutObjectCommand: 2 });
      expect(uploaded).toBeLessThan(64 * 1024 + 8 * 1024);
      const expected = pattern(64 * 64 * 1024);
      expected.set(pattern(4096, 3), 30 * 64 * 1024 + 100);
      expect(await fs.readAt('/big', 30 * 64 * 1024, 8192)).toEqual(
        expected.slice(30 * 64 * 1024, 30 * 64 * 1024 + 8192),
      );
    } finally {
      await fs.close();
    }
  });
});

describe('concurrency', () => {
  it('50 concurrent appends through one storage object', async () => {
    const fs = freshStorage();
    try {
      const offsets = await Promise.all(
        Array.from({ length: 50 }, (_, i) => fs.append('/log', bytes(`${String(i).padStart(2, '0')};`))),
      );
      expect(new Set(offsets).size).toBe(50);
      const content = text(await fs.read('/log'));
      expect(content).toHaveLength(150);
      expect(new Set(content.split(';').filter(Boolean)).size).toBe(50);
    } finally {
      await fs.close();
    }
  });

  it('persists across storage objects', async () => {
    const fs = freshStorage({ chunkSize: 4096 });
    await fs.mkdir('/p');
    await fs.write('/p/f', pattern(10_000));
    await fs.close();
    const again = s3({ ...serverOptions(), prefix: fs.prefix, chunkSize: 4096 });
    expect(await again.read('/p/f')).toEqual(pattern(10_000));
    expect(await again.readAt('/p/f', 4090, 20)).toEqual(pattern(10_000).slice(4090, 4110));
    await again.close();
  });
});

describe('garbage', () => {
  it('leaves no orphan objects after a mixed workload', async () => {
    const client = newClient();
    const fs = freshStorage({ client, chunkSize: 1024, inlineThreshold: 256 });
    try {
      await fs.mkdir('/d');
      await fs.mkdir('/d/e');
      await fs.write('/d/big', pattern(10_000));
      await fs.writeAt('/d/big', 3000, pattern(2000, 5)); // replaces chunks 2-4
      await fs.write('/d/big', pattern(5000, 9)); // overwrite
      await fs.setSize('/d/big', 2500); // truncate: drops chunks 3-4
      await fs.write('/d/gone', pattern(4000));
      await fs.delete('/d/gone');
      await fs.write('/d/e/small', bytes('small'));
      await fs.append('/d/e/small', pattern(3000)); // inline -> chunked
      await fs.write('/d/e/moved', pattern(3000, 3));
      await fs.write('/d/e/victim', pattern(3000, 4));
      await fs.rename('/d/e/moved', '/d/e/victim'); // replaced file's chunks go
      await fs.rename('/d/e', '/d/f');
      await fs.mkdir('/x');
      await fs.rmdir('/x');
      await fs.setTimes('/d/big', { modified: 1 });
      await fs.close();
      const keys = await rawKeys(client, fs.prefix);
      const chunks = keys.filter((k) => k.startsWith(`${fs.prefix}c/`));
      const entries = keys.filter((k) => k.startsWith(`${fs.prefix}e/`));
      // /d, /d/big, /d/f, /d/f/small, /d/f/victim; plus the root entry.
      expect(entries).toHaveLength(5);
      expect(keys.filter((k) => k.startsWith(`${fs.prefix}root!`))).toHaveLength(1);
      // big: 3 chunks (2500 B), small: 3 (3005 B), victim: 3 (3000 B).
      expect(chunks).toHaveLength(9);
      expect(keys).toHaveLength(15);
      const check = s3({ ...serverOptions(), prefix: fs.prefix, chunkSize: 1024 });
      expect(await check.gc({ minAgeMs: 0 })).toEqual({ chunks: 0, entries: 0, journals: 0 });
      expect(await check.read('/d/big')).toEqual(pattern(5000, 9).slice(0, 2500));
      await check.close();
    } finally {
      client.destroy();
    }
  });

  it('gc collects the uploads of a failed write', async () => {
    const client = newClient();
    const faults = chaos(client);
    const fs = s3({ ...serverOptions(), client, prefix: randomPrefix(), chunkSize: 1024, concurrency: 1 });
    try {
      await fs.write('/keep', pattern(3000));
      faults.arm(3); // two chunk uploads succeed, then everything fails
      await expect(fs.write('/fail', pattern(10_000))).rejects.toMatchObject({ code: 'io' });
      faults.disarm();
      expect(await fs.exists('/fail')).toBe(false);
      await fs.close();
      const check = s3({ ...serverOptions(), prefix: fs.prefix });
      await check.gc({ minAgeMs: 0 });
      const chunks = (await rawKeys(client, fs.prefix)).filter((k) => k.startsWith(`${fs.prefix}c/`));
      expect(chunks).toHaveLength(3);
      expect(await check.read('/keep')).toEqual(pattern(3000));
      await check.close();
    } finally {
      client.destroy();
    }
  });
});

describe('interrupted rename', () => {
  async function tree(fs: ReturnType<typeof s3>) {
    await fs.mkdir('/src');
    await fs.mkdir('/src/sub');
    for (let i = 0; i < 12; i++) await fs.write(`/src/f${i}`, pattern(100 + i, i));
    await fs.write('/src/sub/big', pattern(5000));
    await fs.write('/src/sub/x', bytes('x'));
  }

  async function expectMoved(fs: ReturnType<typeof s3>) {
    expect(await fs.exists('/src')).toBe(false);
    expect((await fs.list('/dst')).length).toBe(13);
    for (let i = 0; i < 12; i++) expect(await fs.read(`/dst/f${i}`)).toEqual(pattern(100 + i, i));
    expect(await fs.read('/dst/sub/big')).toEqual(pattern(5000));
    expect(text(await fs.read('/dst/sub/x'))).toBe('x');
  }

  it('is completed at the next open, whatever request failed', async () => {
    // Fail the rename after 1, 2, ... requests until it no longer fails.
    for (let n = 0; ; n++) {
      const client = newClient();
      const faults = chaos(client);
      const prefix = randomPrefix('rename');
      const fs = s3({ ...serverOptions(), client, prefix, chunkSize: 1024, concurrency: 2 });
      await tree(fs);
      await fs.flush();
      faults.arm(n);
      const failed = await fs.rename('/src', '/dst').then(
        () => false,
        () => true,
      );
      faults.disarm();
      await fs.close().catch(() => undefined);
      const next = s3({ ...serverOptions(), prefix, chunkSize: 1024 });
      const journalsBefore = (await rawKeys(client, `${prefix}/j/`)).length;
      if (failed && journalsBefore > 0) {
        await expectMoved(next);
      } else if (failed) {
        // Failed before the journal was written: nothing moved.
        expect(await next.exists('/src/sub/big')).toBe(true);
        expect(await next.exists('/dst')).toBe(false);
      } else {
        await expectMoved(next);
      }
      expect(await rawKeys(client, `${prefix}/j/`)).toEqual([]);
      expect(await next.gc({ minAgeMs: 0 })).toMatchObject({ journals: 0, chunks: 0 });
      await next.close();
      client.destroy();
      if (!failed) break;
    }
  });

  it('is completed by the same storage object at its next operation', async () => {
    const client = newClient();
    const faults = chaos(client);
    const fs = s3({ ...serverOptions(), client, prefix: randomPrefix(), chunkSize: 1024, concurrency: 2 });
    try {
      await tree(fs);
      faults.arm(8);
      await expect(fs.rename('/src', '/dst')).rejects.toMatchObject({ code: 'io' });
      faults.disarm();
      await expectMoved(fs);
    } finally {
      await fs.close();
      client.destroy();
    }
  });

  it('of a file replacing another is completed too', async () => {
    for (let n = 1; n <= 4; n++) {
      const client = newClient();
      const faults = chaos(client);
      const prefix = randomPrefix('rename');
      const fs = s3({ ...serverOptions(), client, prefix, chunkSize: 1024 });
      await fs.write('/a', pattern(3000, 1));
      await fs.write('/b', pattern(3000, 2));
      await fs.flush();
      faults.arm(n);
      await expect(fs.rename('/a', '/b')).rejects.toMatchObject({ code: 'io' });
      faults.disarm();
      const next = s3({ ...serverOptions(), prefix, chunkSize: 1024 });
      const moved = !(await next.exists('/a'));
      expect(await next.read(moved ? '/b' : '/a')).toEqual(pattern(3000, 1));
      if (!moved) expect(await next.read('/b')).toEqual(pattern(3000, 2));
      await next.close();
      await fs.close().catch(() => undefined);
      const chunks = (await rawKeys(client, `${prefix}/c/`)).length;
      expect(chunks).toBe(moved ? 3 : 6);
      client.destroy();
    }
  });
});

describe('faults', () => {
  function flaky(fs: S3Storage, failures: number) {
    let failed = 0;
    fs.client.middlewareStack.add(
      (next) => async (args) => {
        if (failed < failures) {
          failed++;
          throw Object.assign(new Error('Please reduce your request rate.'), {
            name: failed % 2 === 0 ? 'InternalError' : 'SlowDown',
            $fault: 'server',
            $metadata: { httpStatusCode: 503 },
          });
        }
        return next(args);
      },
      { step: 'deserialize', name: 'flaky' },
    );
    return () => failed;
  }

  it('retries throttling and 5xx with backoff', async () => {
    const fs = s3({ ...serverOptions(), prefix: randomPrefix(), maxAttempts: 5 });
    try {
      await fs.ready();
      const failed = flaky(fs, 4);
      await fs.write('/f', bytes('ok'));
      expect(failed()).toBe(4);
      expect(text(await fs.read('/f'))).toBe('ok');
    } finally {
      await fs.close();
    }
  });

  it('gives up with a clear io error when retries are exhausted', async () => {
    const fs = s3({ ...serverOptions(), prefix: randomPrefix(), maxAttempts: 2 });
    try {
      await fs.ready();
      flaky(fs, 2);
      await expect(fs.write('/f', bytes('x'))).rejects.toMatchObject({
        code: 'io',
        message: expect.stringMatching(/after 2 attempts/),
      });
    } finally {
      await fs.close();
    }
  });

  it('reports a missing bucket clearly', async () => {
    const fs = s3({ ...serverOptions(), bucket: 'no-such-bucket-here', prefix: randomPrefix() });
    await expect(fs.stat('/')).rejects.toMatchObject({
      code: 'io',
      message: expect.stringContaining('bucket "no-such-bucket-here" does not exist'),
    });
    await fs.close();
    await expect(openS3({ ...serverOptions(), bucket: 'no-such-bucket-here' })).rejects.toMatchObject({
      code: 'io',
    });
  });

  it('reports bad credentials as permission-denied', async () => {
    const fs = s3({
      ...serverOptions(),
      credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' },
      prefix: randomPrefix(),
    });
    await expect(fs.list('/')).rejects.toMatchObject({ code: 'permission-denied' });
    await fs.close();
  });

  it("reports a key past S3's 1,024 bytes (KeyTooLongError) as name-too-long", async () => {
    // The embedded s3rver stores any key; AWS and MinIO refuse one past 1,024 bytes like this.
    const client = newClient();
    const send = client.config.requestHandler;
    const bucket = serverOptions().bucket;
    client.config.requestHandler = {
      handle: (request: { path: string }, options?: object) => {
        if (Buffer.byteLength(decodeURIComponent(request.path)) <= bucket.length + 2 + 1024) {
          return send.handle(request as never, options);
        }
        const xml =
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>KeyTooLongError</Code>' +
          '<Message>Your key is too long</Message><MaxSizeAllowed>1024</MaxSizeAllowed></Error>';
        const headers = { 'content-type': 'application/xml' };
        return Promise.resolve({
          response: { statusCode: 400, headers, body: Readable.from([Buffer.from(xml)]) },
        });
      },
    } as typeof send;
    const fs = s3({ ...serverOptions(), client, prefix: randomPrefix() });
    try {
      const long = `/${Array.from({ length: 4 }, (_, i) => `${i}${'n'.repeat(250)}`).join('/')}`;
      let dir = '';
      for (const segment of long.split('/').slice(1, -1)) {
        dir += `/${segment}`;
        await fs.mkdir(dir);
      }
      await expect(fs.write(long, bytes('x'))).rejects.toMatchObject({ code: 'name-too-long', path: long });
      await expect(fs.mkdir(long)).rejects.toMatchObject({ code: 'name-too-long', path: long });
      await expect(fs.exists(long)).resolves.toBe(false);
      await fs.close();
    } finally {
      client.destroy();
    }
    const refused = Object.assign(new Error('Your key is too long'), {
      name: 'KeyTooLongError',
      $metadata: { httpStatusCode: 400 },
    });
    expect(toVfsError(refused, { bucket: 'b', path: '/x' })).toMatchObject({
      code: 'name-too-long',
      path: '/x',
    });
  });

  it('reports an unreachable endpoint as io', async () => {
    const fs = s3({
      ...serverOptions(),
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 2,
      prefix: randomPrefix(),
    });
    await expect(fs.read('/x')).rejects.toMatchObject({
      code: 'io',
      message: expect.stringContaining('cannot reach the S3 endpoint http://127.0.0.1:9'),
    });
    await fs.close();
  });
});
