import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createWasiHost, type WasiStdinSource } from '@eryx/vfs-core/wasi';
import { outcome } from './phases.js';
import { execute, GuestExit, type GuestGate, type GuestTarget, gateOptions } from './session.js';

/*
 * The baselines: the same guest on preview2-shim's own filesystems, its browser flavour's in-memory
 * one and its Node flavour over a real directory, each with preview2-shim's own streams.
 */

/**
 * preview2-shim, from the guests package that depends on it (the bench does not). Its `exports`
 * map sends Node to the Node flavour; the browser flavour's files are next to it, loaded by path
 * and by `require` as @eryx/vfs-core loads them, so they are the same module instances as the
 * host's streams (under tsx, an `import` of the same file would be a second instance).
 */
const shimRequire = createRequire(new URL('../../../guests/package.json', import.meta.url));
const shimNodeEntry = shimRequire.resolve('@bytecodealliance/preview2-shim');
const shimBrowser = (name: string): unknown =>
  shimRequire(join(dirname(shimNodeEntry), '..', 'browser', `${name}.js`));

interface ShimFilesystem {
  types: Record<string, unknown>;
  preopens: { getDirectories(): Array<[unknown, string]> };
}

interface BrowserFilesystemModule {
  createFilesystem(config: { adapter: unknown; preopens: Record<string, unknown> }): ShimFilesystem;
}

interface InMemoryModule {
  InMemoryFilesystemAdapter: new () => unknown;
}

interface NodeDescriptor {
  openAt(
    pathFlags: Record<string, boolean>,
    path: string,
    openFlags: Record<string, boolean>,
    flags: Record<string, boolean>,
  ): NodeDescriptor;
  writeViaStream(offset: bigint): unknown;
}

interface NodeShim {
  cli: Record<string, Record<string, unknown>>;
  clocks: Record<string, Record<string, unknown>>;
  filesystem: {
    createFilesystem(config: { preopens: Record<string, string> }): ShimFilesystem;
  };
  io: Record<string, Record<string, unknown>>;
  random: Record<string, Record<string, unknown>>;
  sockets: Record<string, Record<string, unknown>>;
}

interface ShimIo {
  outputStreamCreate(handler: {
    write(buffer: Uint8Array): void;
    flush(): void;
    blockingFlush(): void;
  }): unknown;
  inputStreamCreate(handler: { blockingRead(len: bigint): Uint8Array }): unknown;
  error: Record<string, unknown>;
  poll: Record<string, unknown>;
  streams: Record<string, unknown>;
}

/**
 * stdin, stdout and stderr made of preview2-shim's own (browser) streams, fed and read as
 * createWasiHost's are (see gateOptions): a filesystem's streams and stdio's must be of one
 * `wasi:io/streams` implementation, and the baseline's are preview2-shim's.
 */
function shimStdio(io: ShimIo, gate: GuestGate | undefined) {
  const { stdin: source, onStdout } = gateOptions(gate) as {
    stdin?: WasiStdinSource;
    onStdout?: (chunk: Uint8Array) => void;
  };
  const captured = (forward?: (chunk: Uint8Array) => void) => {
    const chunks: Uint8Array[] = [];
    const stream = io.outputStreamCreate({
      write(buffer) {
        chunks.push(buffer.slice());
        forward?.(buffer);
      },
      flush() {},
      blockingFlush() {},
    });
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  };
  const stdout = captured(onStdout);
  const stderr = captured();
  const stdin = io.inputStreamCreate({
    blockingRead(len) {
      const chunk = len > 0n ? (source?.(Number(len)) ?? null) : new Uint8Array(0);
      if (chunk === null || (chunk.length === 0 && len > 0n)) throw { tag: 'closed' };
      return chunk.slice(0, Number(len));
    },
  });
  return {
    imports: {
      'wasi:cli/stdin': { getStdin: () => stdin },
      'wasi:cli/stdout': { getStdout: () => stdout.stream },
      'wasi:cli/stderr': { getStderr: () => stderr.stream },
      'wasi:io/error': io.error,
      'wasi:io/streams': io.streams,
    },
    stdout: stdout.text,
    stderr: stderr.text,
  };
}

/**
 * preview2-shim's browser in-memory filesystem, with its own streams (for files and stdio alike),
 * and the same clocks and poll as the backends (createWasiHost without mounts): only
 * wasi:filesystem and the streams it returns differ.
 */
export function p2shimMemoryTarget(name: string): GuestTarget {
  return {
    name,
    gated: true,
    async open() {
      const { createFilesystem } = shimBrowser('filesystem') as BrowserFilesystemModule;
      const { InMemoryFilesystemAdapter } = shimBrowser('in-memory-filesystem') as InMemoryModule;
      const io = shimBrowser('io') as ShimIo;
      const root = { dir: {} };
      return {
        async run(args, gate) {
          const host = createWasiHost({ mounts: {}, args: ['bench', ...args] });
          // The host's poll blocks on preview2-shim's pollables: the streams' must be the same class.
          if (host.imports['wasi:io/poll']?.Pollable !== io.poll.Pollable) {
            throw new Error("preview2-shim is loaded twice: its pollables are not the host's");
          }
          const stdio = shimStdio(io, gate);
          const fs = createFilesystem({
            adapter: new InMemoryFilesystemAdapter(),
            preopens: { '/data': root },
          });
          const imports = {
            ...host.imports,
            ...stdio.imports,
            'wasi:filesystem/types': fs.types,
            'wasi:filesystem/preopens': fs.preopens,
          };
          let code: number;
          try {
            code = await execute(imports, gate);
          } finally {
            host.close();
          }
          return outcome(name, code, stdio.stdout(), stdio.stderr(), gate?.clock);
        },
        async close() {},
      };
    },
  };
}

/**
 * preview2-shim's Node flavour (every filesystem call goes to real files, through its I/O worker)
 * with /data preopened to a temporary directory. Its streams are its own, so stdio must be too:
 * stdout goes to a file the guest's stream writes through the same shim.
 */
export function p2shimDiskTarget(): GuestTarget {
  return {
    name: 'p2shim-disk',
    async open() {
      const shim = (await import(pathToFileURL(shimNodeEntry).href)) as NodeShim;
      const dir = mkdtempSync(join(tmpdir(), 'eryx-bench-guest-disk-'));
      const data = join(dir, 'data');
      const out = join(dir, 'out');
      mkdirSync(data);
      mkdirSync(out);
      const fs = shim.filesystem.createFilesystem({ preopens: { '/data': data } });
      const [[outDir]] = shim.filesystem
        .createFilesystem({ preopens: { '/': out } })
        .preopens.getDirectories() as [[NodeDescriptor, string]];
      let runs = 0;
      return {
        async run(args) {
          const name = `stdout-${runs++}.txt`;
          const file = outDir.openAt({}, name, { create: true, truncate: true }, { write: true });
          const stdout = file.writeViaStream(0n);
          const exit = (code: number): never => {
            throw new GuestExit(code);
          };
          const code = await execute({
            'wasi:cli/environment': {
              getEnvironment: () => [],
              getArguments: () => ['bench', ...args],
              initialCwd: () => undefined,
            },
            'wasi:cli/exit': {
              exit: (status: { tag: string }) => exit(status.tag === 'err' ? 1 : 0),
              exitWithCode: (status: number) => exit(status),
            },
            'wasi:cli/stdin': shim.cli.stdin!,
            'wasi:cli/stdout': { getStdout: () => stdout },
            'wasi:cli/stderr': shim.cli.stderr!,
            'wasi:cli/terminal-input': shim.cli.terminalInput!,
            'wasi:cli/terminal-output': shim.cli.terminalOutput!,
            'wasi:cli/terminal-stdin': shim.cli.terminalStdin!,
            'wasi:cli/terminal-stdout': shim.cli.terminalStdout!,
            'wasi:cli/terminal-stderr': shim.cli.terminalStderr!,
            'wasi:clocks/monotonic-clock': shim.clocks.monotonicClock!,
            'wasi:clocks/wall-clock': shim.clocks.wallClock!,
            'wasi:filesystem/types': fs.types,
            'wasi:filesystem/preopens': fs.preopens,
            'wasi:io/error': shim.io.error!,
            'wasi:io/poll': shim.io.poll!,
            'wasi:io/streams': shim.io.streams!,
            'wasi:random/random': shim.random.random!,
            'wasi:random/insecure': shim.random.insecure!,
            'wasi:random/insecure-seed': shim.random.insecureSeed!,
            'wasi:sockets/network': shim.sockets.network!,
            'wasi:sockets/instance-network': shim.sockets.instanceNetwork!,
            'wasi:sockets/ip-name-lookup': shim.sockets.ipNameLookup!,
            'wasi:sockets/tcp': shim.sockets.tcp!,
            'wasi:sockets/tcp-create-socket': shim.sockets.tcpCreateSocket!,
            'wasi:sockets/udp': shim.sockets.udp!,
            'wasi:sockets/udp-create-socket': shim.sockets.udpCreateSocket!,
          });
          // The guest's stderr went to the process's stderr; its stdout is in the file.
          return outcome('p2shim-disk', code, readFileSync(join(out, name), 'utf8'), '');
        },
        async close() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}
