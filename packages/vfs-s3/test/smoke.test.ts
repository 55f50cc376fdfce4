import { describe, expect, it } from 'vitest';
import { freshStorage } from './helpers.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('s3 smoke', () => {
  it('basic tree operations', async () => {
    const fs = freshStorage();
    try {
      await fs.mkdir('/a');
      await fs.write('/a/x.txt', bytes('hello'));
      expect(text(await fs.read('/a/x.txt'))).toBe('hello');
      await fs.writeAt('/a/x.txt', 10, bytes('!'));
      expect(await fs.read('/a/x.txt')).toEqual(new Uint8Array([...bytes('hello'), 0, 0, 0, 0, 0, 33]));
      expect(await fs.append('/a/x.txt', bytes('z'))).toBe(11);
      expect((await fs.stat('/a/x.txt')).size).toBe(12);
      expect(await fs.list('/a')).toEqual([{ name: 'x.txt', kind: 'file', size: 12 }]);
      await fs.rename('/a', '/b');
      expect(await fs.exists('/a')).toBe(false);
      expect(text(await fs.readAt('/b/x.txt', 0, 5))).toBe('hello');
      await fs.setSize('/b/x.txt', 2);
      expect(text(await fs.read('/b/x.txt'))).toBe('he');
      await fs.delete('/b/x.txt');
      await fs.rmdir('/b');
      expect(await fs.list('/')).toEqual([]);
    } finally {
      await fs.close();
    }
  });

  it('chunked files', async () => {
    const fs = freshStorage({ chunkSize: 1024, inlineThreshold: 256 });
    try {
      const data = new Uint8Array(5000).map((_, i) => i % 251);
      await fs.write('/big', data);
      expect(await fs.read('/big')).toEqual(data);
      await fs.writeAt('/big', 1020, new Uint8Array(10).fill(7));
      data.set(new Uint8Array(10).fill(7), 1020);
      expect(await fs.read('/big')).toEqual(data);
      expect(await fs.readAt('/big', 1000, 100)).toEqual(data.slice(1000, 1100));
      await fs.setSize('/big', 1500);
      await fs.setSize('/big', 3000);
      const expected = new Uint8Array(3000);
      expected.set(data.subarray(0, 1500));
      expect(await fs.read('/big')).toEqual(expected);
      await fs.write('/small', bytes('abc'));
      await fs.writeAt('/small', 2000, bytes('x'));
      const small = new Uint8Array(2001);
      small.set(bytes('abc'));
      small[2000] = 120;
      expect(await fs.read('/small')).toEqual(small);
    } finally {
      await fs.close();
    }
  });
});
