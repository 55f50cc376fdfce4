import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { postgres } from '../src/index.js';

it('smoke', async () => {
  const s = postgres({
    connectionString: process.env.VFS_POSTGRES_URL,
    namespace: randomUUID(),
    chunkSize: 1024,
  });
  await s.mkdir('/d');
  await s.write('/d/a', Buffer.from('hello'));
  expect(Buffer.from(await s.read('/d/a')).toString()).toBe('hello');
  await s.writeAt('/d/a', 3000, Buffer.from('xyz'));
  const all = await s.read('/d/a');
  expect(all.length).toBe(3003);
  expect(Buffer.from(all.subarray(0, 5)).toString()).toBe('hello');
  expect(all[2000]).toBe(0);
  expect(Buffer.from(await s.readAt('/d/a', 2999, 10)).toString('hex')).toBe('0078797a');
  expect(await s.append('/d/a', Buffer.from('!'))).toBe(3003);
  await s.setSize('/d/a', 2);
  await s.setSize('/d/a', 6);
  expect(Buffer.from(await s.read('/d/a')).toString('hex')).toBe('686500000000');
  expect(await s.list('/d')).toEqual([{ name: 'a', kind: 'file', size: 6 }]);
  await s.rename('/d', '/e');
  expect((await s.stat('/e/a')).size).toBe(6);
  await expect(s.rmdir('/e')).rejects.toMatchObject({ code: 'directory-not-empty' });
  await expect(s.write('/x/y', Buffer.from(''))).rejects.toMatchObject({ code: 'not-found' });
  await s.delete('/e/a');
  await s.rmdir('/e');
  expect(await s.list('/')).toEqual([]);
  await s.destroy();
});
