import { type GuestChildRequest, runGatedInChildren, runInChild } from './guest/children.js';
import { bestOf, type GuestPhase, type GuestResult, guestArgs } from './guest/phases.js';
import { GUEST_TARGET_RATIOS, guestTargets } from './guest/targets.js';

/*
 * The guest-level benchmark: the C guest guests/src/bench.c (its fixture transpiled by the guests'
 * build into guests/dist/) runs its phases under /data on every backend through createWasiHost,
 * and on two baselines in the same run: preview2-shim's own in-memory filesystem (its browser
 * flavour) and its Node flavour over a real directory. The guest times each phase itself
 * (clock_gettime), so instantiation and the host's setup are not measured.
 *
 * This module runs the rounds; src/guest/ holds the rest: phases.ts (the guest's arguments and
 * reports), session.ts (one run of the guest on a target), targets.ts (the backends, and which
 * targets are compared and selected), baselines.ts (preview2-shim's filesystems), children.ts
 * (the measuring processes), ratios.ts and format.ts (the target ratios and the printed tables).
 */

export { formatGuest } from './guest/format.js';
export type { GuestPhase, GuestResult } from './guest/phases.js';
export { guestArgs } from './guest/phases.js';
export { type GuestRatio, guestRatios } from './guest/ratios.js';
export { GUEST_BINDINGS, guestBindings } from './guest/session.js';
export { GUEST_TARGET_RATIOS, GUEST_TARGETS, selectGuestTargets } from './guest/targets.js';

/**
 * Runs the guest on the selected targets. Servers (PostgreSQL, S3) start once, here. Then `repeat`
 * rounds run every target once, in turn (so that load on the machine falls on all of them alike),
 * each run in a fresh Node process ({@link runGuestTarget}): in one shared process the JIT state
 * that jco's glue code reaches depends on which filesystem ran before, and that alone moved a
 * phase by 15–20% depending on the order of the targets. The best time of each phase is kept. A
 * target that fails is reported, and the others go on.
 */
export async function runGuestBench(options: {
  scale: number;
  repeat: number;
  /** Target names (see {@link selectGuestTargets}); every target when omitted. */
  targets?: string[];
  /** Guest arguments that take precedence over the scale's (`seq=`, `rand=`, ...). */
  args?: string[];
  /**
   * Measured runs per measuring process (after its warm-up), the best of them kept, for the targets
   * and baselines of {@link GUEST_TARGET_RATIOS} (PostgreSQL and S3 get one). Default 1.
   */
  runs?: number;
  /**
   * Iterations of every phase within each measured run (the guest's `iterations=`), for the same
   * targets as `runs`. Default 1.
   */
  iterations?: number;
  log?: (line: string) => void;
}): Promise<GuestResult[]> {
  const extra = options.args ?? [];
  const log = options.log ?? (() => {});
  const selected = guestTargets.filter((t) => !options.targets || options.targets.includes(t.name));
  const state = selected.map((target) => ({
    target,
    best: [] as GuestPhase[],
    error: undefined as string | undefined,
  }));
  const failed = (s: (typeof state)[number], error: unknown) => {
    s.error = error instanceof Error ? error.message : String(error);
    log(`guest: ${s.target.name} failed: ${s.error}`);
  };
  const env: Record<string, string> = {};
  const runs = Math.max(1, options.runs ?? 1);
  const iterations = Math.max(1, options.iterations ?? 1);
  try {
    for (const s of state) {
      try {
        if (s.target.serverEnv) {
          log(`guest: starting the server of ${s.target.name}`);
          Object.assign(env, await s.target.serverEnv());
        }
      } catch (error) {
        failed(s, error);
      }
    }
    const warm = ['dir=/data/warm', ...extra, ...guestArgs(Math.min(options.scale, 0.25))];
    const args = [...extra, ...guestArgs(options.scale)];
    const request = (s: (typeof state)[number]): GuestChildRequest => {
      // Only a compared target needs several runs; the network backends' runs are long.
      const compared = GUEST_TARGET_RATIOS.some(
        (r) => r.target === s.target.name || r.baseline === s.target.name,
      );
      return {
        target: s.target.name,
        args,
        warm,
        runs: compared ? runs : 1,
        iterations: compared ? iterations : 1,
      };
    };
    // A compared pair whose targets can both be gated runs phase by phase in turn (a baseline
    // compared with two targets, with the first of them not measured yet in the round).
    const partnerOf = (s: (typeof state)[number], measured: ReadonlySet<(typeof state)[number]>) => {
      const paired = (a: string, b: string) =>
        GUEST_TARGET_RATIOS.some(
          (r) => (r.target === a && r.baseline === b) || (r.target === b && r.baseline === a),
        );
      const other = state.find(
        (o) => o !== s && !measured.has(o) && !o.error && paired(s.target.name, o.target.name),
      );
      return s.target.gated && other?.target.gated ? other : undefined;
    };
    for (let round = 0; round < options.repeat; round++) {
      const measured = new Set<(typeof state)[number]>();
      for (const s of state) {
        if (s.error || measured.has(s)) continue;
        const partner = partnerOf(s, measured);
        const group = partner ? [s, partner] : [s];
        for (const g of group) measured.add(g);
        log(
          `guest: round ${round + 1}/${options.repeat}, ${group.map((g) => g.target.name).join(' and ')}` +
            (partner ? ', phase by phase in turn' : ''),
        );
        if (partner) {
          // Who goes first alternates from round to round.
          if (round % 2 === 1) group.reverse();
          const outcomes = await runGatedInChildren(group.map(request), env);
          outcomes.forEach((o, i) => {
            if (o.status === 'fulfilled') group[i]!.best = bestOf(group[i]!.best, o.value);
            else failed(group[i]!, o.reason);
          });
          continue;
        }
        try {
          s.best = bestOf(s.best, await runInChild(request(s), env));
        } catch (error) {
          failed(s, error);
        }
      }
    }
  } finally {
    for (const s of state) {
      try {
        await s.target.shutdown?.();
      } catch (error) {
        if (!s.error) failed(s, error);
      }
    }
  }
  return state.map((s) => ({ target: s.target.name, phases: s.error ? [] : s.best, error: s.error }));
}
