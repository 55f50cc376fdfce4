import { describe, expect, it } from 'vitest';
import { OPERATION_OF_CODE, Op, RETIRED_CODES } from '../src/bridge/protocol.js';
import {
  MUTATING_OPERATIONS,
  OPERATIONS,
  READ_OPERATIONS,
  STORAGE_OPERATIONS,
  VFS_OPERATIONS,
} from '../src/operations.js';

describe('the operation table', () => {
  it('lists every operation once, with close last', () => {
    expect(VFS_OPERATIONS).toEqual([...STORAGE_OPERATIONS, 'close']);
    expect(new Set(VFS_OPERATIONS).size).toBe(VFS_OPERATIONS.length);
    expect([...READ_OPERATIONS, ...MUTATING_OPERATIONS].sort()).toEqual([...STORAGE_OPERATIONS].sort());
  });

  it('gives every operation a path first, and mutating ones a void or offset result', () => {
    for (const op of STORAGE_OPERATIONS) {
      const { args, mutating, result } = OPERATIONS[op];
      expect(args[0], `first argument of ${op}`).toBe('path');
      if (mutating) expect(['void', 'offset'], `result of ${op}`).toContain(result);
    }
  });

  it('keeps the sync bridge wire codes stable and distinct', () => {
    // A worker and a caller of different versions must agree: codes are never renumbered.
    expect(Op).toEqual({
      read: 1,
      readAt: 2,
      write: 3,
      writeAt: 4,
      append: 5,
      setSize: 6,
      stat: 7,
      list: 8,
      exists: 9,
      mkdir: 10,
      rmdir: 11,
      delete: 12,
      rename: 13,
      setTimes: 14,
      close: 15,
      create: 17,
      flush: 18,
      writeExtents: 19,
      link: 22,
      symlink: 20,
      readlink: 21,
    });
    expect(new Set(Object.values(Op)).size).toBe(Object.keys(Op).length);
    // 16 was the bridge's own writeMany, which writeExtents replaced: never given to another.
    expect(RETIRED_CODES).toEqual([16]);
    for (const code of RETIRED_CODES) expect(Object.values(Op)).not.toContain(code);
    for (const op of STORAGE_OPERATIONS) expect(OPERATION_OF_CODE.get(OPERATIONS[op].code)).toBe(op);
  });
});
