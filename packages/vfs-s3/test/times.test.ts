import { PutObjectCommand } from '@aws-sdk/client-s3';
import { nsToMs } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { s3 } from '../src/index.js';
import { freshStorage, newClient, randomPrefix, rawKeys, serverOptions } from './helpers.js';

const N = 1_733_000_000_123_456_789n;

describe('times in nanoseconds in the entry key', () => {
  it('are in the key: another storage object, with nothing cached, reads them exactly', async () => {
    const client = newClient();
    const fs = freshStorage({ client });
    try {
      await fs.write('/f', new Uint8Array([1]));
      await fs.setTimes('/f', { modified: N, accessed: N - 100n });
      await fs.flush();
      const [key] = await rawKeys(client, `${fs.prefix}e/f!`);
      // The two exact times ride after the three millisecond times, as distances of a few digits.
      expect(key).toMatch(/^[^!]+![0-9a-z]+!i1~[0-9a-z]+~\*[0-9.]+~\*[0-9.]+~-?\d{1,4}~-?\d{1,4}$/);
      const other = s3({ ...serverOptions(), prefix: fs.prefix });
      expect(await other.stat('/f')).toMatchObject({
        modified: nsToMs(N),
        accessed: nsToMs(N - 100n),
        modifiedNs: N,
        accessedNs: N - 100n,
      });
      await other.close();
    } finally {
      await fs.close();
      client.destroy();
    }
  });

  it('an entry written before them reads its milliseconds and takes exact times', async () => {
    const client = newClient();
    const prefix = randomPrefix('old-times');
    const t = (1_700_000_000_000.5).toString();
    const put = (key: string) =>
      client.send(
        new PutObjectCommand({ Bucket: serverOptions().bucket, Key: `${prefix}/${key}`, Body: '' }),
      );
    await put(`root!1!d0~${(1_700_000_000_000).toString(36)}~*${t}~*${t}`);
    await put(`e/f!1!i0~${(1_700_000_000_000).toString(36)}~*${t}~*${t}`);
    const fs = s3({ ...serverOptions(), prefix });
    try {
      const before = await fs.stat('/f');
      expect(before).toEqual({
        kind: 'file',
        size: 0,
        created: 1_700_000_000_000,
        modified: 1_700_000_000_000.5,
        accessed: 1_700_000_000_000.5,
        linkCount: 1,
      });
      await fs.setTimes('/f', { modified: N });
      expect(await fs.stat('/f')).toEqual({ ...before, modified: nsToMs(N), modifiedNs: N });
    } finally {
      await fs.close();
      client.destroy();
    }
  });
});
