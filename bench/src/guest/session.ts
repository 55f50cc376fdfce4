import { type GuestBindings, instantiateGuest } from '@eryx/test-guests/run';
import type { VfsSyncStorage } from '@eryx/vfs-core';
import { createWasiHost, type WasiImports, type WasiStdinSource } from '@eryx/vfs-core/wasi';
import { type FilesystemClock, instrumentFilesystem, useClock } from '../fs-clock.js';
import { type GuestPhase, outcome } from './phases.js';

/*
 * One run of the bench guest: what a target is (GuestTarget), the store its runs share
 * (GuestSession), and how a run is instantiated, fed its go when gated, and ended.
 */

/**
 * How the bench guest is transpiled (BENCH_GUEST_BINDINGS): `hybrid` (the default, what
 * @eryx/vfs-core recommends: the core module calls a host's direct lowerings where it has them,
 * jco's glue elsewhere) or `js` (jco's glue for every call). The same transpiled guest runs on
 * every target of a run.
 */
export const GUEST_BINDINGS: GuestBindings = guestBindings(process.env.BENCH_GUEST_BINDINGS);

/** @internal The bindings a BENCH_GUEST_BINDINGS value names. */
export function guestBindings(value: string | undefined): GuestBindings {
  if (value === undefined || value === '' || value === 'hybrid') return 'hybrid';
  if (value === 'js') return 'js';
  throw new Error(`BENCH_GUEST_BINDINGS must be hybrid or js, not ${JSON.stringify(value)}`);
}

/** Thrown by the baselines' `wasi:cli/exit` (the Node flavour's own would end the process). */
export class GuestExit extends Error {
  constructor(readonly code: number) {
    super(`guest exited with status ${code}`);
  }
}

/**
 * Instantiates the guest with `imports` and runs it; `exitCode` is what the guest passed to exit
 * (0 when it returned), recognised by the `code` of what its entry point threw. With a `gate`, its
 * clock times the filesystem of `imports` meanwhile (see instrumentFilesystem).
 */
export async function execute(imports: WasiImports, gate?: GuestGate): Promise<number> {
  if (gate) {
    instrumentFilesystem(
      imports['wasi:filesystem/types'] as Record<string, unknown>,
      imports['wasi:io/streams'] as Parameters<typeof instrumentFilesystem>[1],
    );
  }
  useClock(gate?.clock);
  try {
    const component = await instantiateGuest('bench', imports, GUEST_BINDINGS);
    component.run.run();
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((error instanceof GuestExit || (error as Error).name === 'WasiExit') && typeof code === 'number') {
      return code;
    }
    throw error;
  } finally {
    useClock(undefined);
  }
}

/**
 * How a gated run is fed and timed: the guest reads its go from `stdin` before each phase, and its
 * filesystem's time is measured by `clock` from that read to the phase's report.
 */
export interface GuestGate {
  stdin: WasiStdinSource;
  clock: FilesystemClock;
}

/** One store (or directory) a target's runs share; each run is a fresh component instance. */
export interface GuestSession {
  /** `gate`: for a target that is {@link GuestTarget.gated}, run with `gate=1`. */
  run(args: string[], gate?: GuestGate): Promise<GuestPhase[]>;
  close(): Promise<void>;
}

/** The createWasiHost options that feed a gated run and mark where its phases end. */
export function gateOptions(gate: GuestGate | undefined) {
  if (!gate) return {};
  return {
    stdin: (max: number) => {
      const go = gate.stdin(max);
      gate.clock.phaseStarted();
      return go;
    },
    // The guest writes nothing to stdout but its reports: the first write after a go ends the phase.
    onStdout: () => gate.clock.phaseEnded(),
  };
}

export interface GuestTarget {
  name: string;
  /** Its guest's stdin can be fed as it runs (createWasiHost's stdio), so it can be paired. */
  gated?: boolean;
  /** Run only when `BENCH_BACKENDS` names it. */
  optIn?: boolean;
  /**
   * Starts the target's server once, in the parent process, and returns the environment through
   * which the measuring processes find it (`VFS_POSTGRES_URL`, `VFS_S3_*`).
   */
  serverEnv?(): Promise<Record<string, string>>;
  open(): Promise<GuestSession>;
  shutdown?(): Promise<void>;
}

/** A backend served by createWasiHost, mounted at /data. */
export function hostSession(name: string, storage: VfsSyncStorage, close: () => Promise<void>): GuestSession {
  return {
    async run(args, gate) {
      const host = createWasiHost({
        mounts: { '/data': storage },
        args: ['bench', ...args],
        ...gateOptions(gate),
      });
      let code: number;
      try {
        code = await execute(host.imports, gate);
      } finally {
        host.close();
      }
      return outcome(name, code, host.stdout.text(), host.stderr.text(), gate?.clock);
    },
    close,
  };
}
