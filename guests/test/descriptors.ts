import type {
  Descriptor,
  DescriptorFlags,
  ErrorCode,
} from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import type { WasiHost } from '@eryx/vfs-core/wasi';

/*
 * What the tests that call the host's `wasi:filesystem` methods directly (as jco's generated code
 * does) share.
 */

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
export const R: DescriptorFlags = { read: true };
export const RW: DescriptorFlags = { read: true, write: true };

/** The error code a host method fails with (jco lowers a thrown string into `err`), or `ok`. */
export function wasiCodeOf(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (typeof error !== 'string') throw error;
    return error as ErrorCode;
  }
}

/** The descriptor of preopen `index` of a host. */
export function root(host: WasiHost, index = 0): Descriptor {
  const preopens = host.imports['wasi:filesystem/preopens'] as {
    getDirectories(): Array<[Descriptor, string]>;
  };
  const entry = preopens.getDirectories()[index];
  if (!entry) throw new Error('no such preopen');
  return entry[0];
}

/** What jco does when the guest drops a descriptor handle. */
export function drop(descriptor: Descriptor): void {
  (descriptor as Descriptor & Disposable)[Symbol.dispose]();
}
