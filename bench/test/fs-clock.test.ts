import { afterEach, describe, expect, it } from 'vitest';
import { FilesystemClock, instrumentFilesystem, useClock } from '../src/fs-clock.js';

// The clocks of these tests read this time, which the fake filesystem below moves.
let now = 0;

// A stand-in for a wasi:filesystem/types import and the wasi:io streams its descriptors return;
// every method takes a known time.
class InputStream {
  blockingRead(): Uint8Array {
    now += 100;
    return new Uint8Array(1);
  }
}
class OutputStream {
  blockingWriteAndFlush(): void {
    now += 10;
  }
}
class Descriptor {
  stat(): object {
    now += 1;
    return {};
  }
  // Calls another wrapped method: that time must be counted once.
  statTwice(): object {
    now += 1000;
    this.stat();
    return this.stat();
  }
  writeViaStream(): OutputStream {
    now += 10_000;
    return new OutputStream();
  }
  fails(): never {
    now += 100_000;
    throw new Error('no-entry');
  }
}
class DirectoryEntryStream {
  readDirectoryEntry(): undefined {
    now += 1_000_000;
    return undefined;
  }
}
// A direct lowering (jco --import-bindings hybrid), as a host attaches it to a method.
const CABI_LOWER = Symbol.for('cabiLower');
type Lowering = (context: unknown) => (...args: number[]) => number;
(Descriptor.prototype.stat as unknown as Record<symbol, Lowering>)[CABI_LOWER] = () => (handle) => {
  now += 10_000_000;
  return handle;
};
instrumentFilesystem({ Descriptor, DirectoryEntryStream }, { InputStream, OutputStream });

function startClock(): FilesystemClock {
  const clock = new FilesystemClock(() => now);
  useClock(clock);
  return clock;
}

describe('FilesystemClock', () => {
  afterEach(() => useClock(undefined));

  it('adds the time of filesystem calls between the start of a phase and its report', () => {
    const clock = startClock();
    const d = new Descriptor();
    d.stat(); // before the phase
    clock.phaseStarted();
    d.stat();
    new DirectoryEntryStream().readDirectoryEntry();
    now += 5; // the guest's own work
    clock.phaseEnded();
    d.stat(); // after the report
    clock.phaseEnded(); // a second stdout write of the same report
    expect(clock.phases).toEqual([1_000_001]);
  });

  it('counts a call made from within another filesystem call once', () => {
    const clock = startClock();
    clock.phaseStarted();
    new Descriptor().statTwice();
    clock.phaseEnded();
    expect(clock.phases).toEqual([1002]);
  });

  it('counts a call that throws', () => {
    const clock = startClock();
    clock.phaseStarted();
    expect(() => new Descriptor().fails()).toThrow('no-entry');
    new Descriptor().stat();
    clock.phaseEnded();
    expect(clock.phases).toEqual([100_001]);
  });

  it("times a descriptor's file streams, not other streams of the same classes (stdio)", () => {
    const clock = startClock();
    const file = new Descriptor().writeViaStream();
    clock.phaseStarted();
    file.blockingWriteAndFlush();
    new OutputStream().blockingWriteAndFlush();
    new InputStream().blockingRead();
    clock.phaseEnded();
    expect(clock.phases).toEqual([10]);
  });

  it('times the direct lowerings of a wrapped method, which keeps them', () => {
    const clock = startClock();
    const lowering = (Descriptor.prototype.stat as unknown as Record<symbol, Lowering>)[CABI_LOWER];
    expect(lowering).toBeTypeOf('function');
    const lowered = lowering!({});
    lowered(7); // before the phase
    clock.phaseStarted();
    expect(lowered(7)).toBe(7);
    clock.phaseEnded();
    expect(clock.phases).toEqual([10_000_000]);
  });

  it("leaves out the part of a call before the phase started (the gate's read waits for the go)", () => {
    const clock = new FilesystemClock(() => now);
    clock.phaseStarted();
    clock.add(now - 500, now + 3);
    clock.phaseEnded();
    expect(clock.phases).toEqual([3]);
  });

  it('records one entry per phase, in order, and only for the clock in use', () => {
    const clock = startClock();
    const other = new FilesystemClock(() => now);
    const d = new Descriptor();
    other.phaseStarted();
    clock.phaseStarted();
    d.stat();
    clock.phaseEnded();
    clock.phaseStarted();
    d.stat();
    d.stat();
    clock.phaseEnded();
    other.phaseEnded();
    expect(clock.phases).toEqual([1, 2]);
    expect(other.phases).toEqual([0]);
  });

  it('instruments a class once, however often it is asked', () => {
    instrumentFilesystem({ Descriptor, DirectoryEntryStream }, { InputStream, OutputStream });
    const clock = startClock();
    clock.phaseStarted();
    new Descriptor().stat();
    clock.phaseEnded();
    expect(clock.phases).toEqual([1]);
  });

  it('refuses an import without the classes it times', () => {
    expect(() => instrumentFilesystem({ Descriptor }, { InputStream, OutputStream })).toThrow(
      /DirectoryEntryStream/,
    );
  });
});
