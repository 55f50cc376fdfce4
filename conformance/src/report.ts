import { type Capabilities, resolveCapabilities } from '@eryx/vfs-core';
import type { ConformanceOptions, Declared, SuiteName } from './context.js';
import { tarDoesNotFit } from './suites/tar.js';

/** The name of a capability flag. */
export type Capability = keyof Capabilities;

type Form = 'async' | 'sync';

/** Every sub-suite name, in the order `runConformance` registers them (the type keeps it complete). */
const SUITE_ORDER = Object.keys({
  read: 0,
  readAtView: 0,
  writeAt: 0,
  writeExtents: 0,
  append: 0,
  create: 0,
  setSize: 0,
  metadata: 0,
  list: 0,
  directories: 0,
  rename: 0,
  links: 0,
  hardLinks: 0,
  times: 0,
  badInput: 0,
  nameLimits: 0,
  illFormed: 0,
  concurrency: 0,
  shared: 0,
  sharedFiles: 0,
  persistence: 0,
  atomicity: 0,
  chaos: 0,
  probe: 0,
  model: 0,
  limits: 0,
  flush: 0,
  tar: 0,
} satisfies Record<SuiteName, 0>) as SuiteName[];

/** Sub-suites that verify claims: left out, they leave a claim unverified rather than the contract untested. */
const CLAIM_SUITES: ReadonlySet<SuiteName> = new Set([
  'shared',
  'sharedFiles',
  'persistence',
  'atomicity',
  'probe',
]);

/**
 * Which sub-suites verify each capability claim. `nativeAppend` and `exclusiveCreate` promise
 * atomicity against every writer of the store: across storage objects (`shared`) for a store that
 * claims `multiProcess`, within its one object (`concurrency`) for a store that does not.
 */
export function claimVerifiers(capability: Capability, claims: Capabilities): readonly SuiteName[] {
  switch (capability) {
    case 'nativeAppend':
    case 'exclusiveCreate':
      return claims.multiProcess ? ['shared'] : ['shared', 'concurrency'];
    case 'multiProcess':
      return ['shared'];
    case 'persistent':
      return ['persistence'];
    case 'atomicRename':
    case 'atomicDirectoryRename':
      return ['atomicity'];
    // Against other writers of the store where there can be any, else within the one object.
    case 'nativeIfFile':
      return claims.multiProcess ? ['sharedFiles'] : ['sharedFiles', 'writeExtents'];
    case 'symlinks':
      return ['links'];
    case 'nanosecondTimes':
      return ['times'];
    case 'hardLinks':
      return ['hardLinks'];
  }
}

const NEEDS: Record<SuiteName, string> = Object.fromEntries(
  SUITE_ORDER.map((name) => [name, `the \`${name}\` sub-suite`]),
) as Record<SuiteName, string>;
NEEDS.shared = 'the `shared` sub-suite (give `reopen`)';
NEEDS.sharedFiles = 'the `sharedFiles` sub-suite (give `reopen`)';
NEEDS.persistence = 'the `persistence` sub-suite (give `reopen`)';

/** A sub-suite (or a form) the kit did not run, and why. */
export interface SkippedSuite {
  suite: SuiteName | 'async form' | 'sync form';
  /**
   * Why: `skip` (listed in the option), `no reopen`, `no probe`, `not claimed` (a sub-suite verifying
   * a claim the store does not make), `not declared` (`flush`, `readAtView`, `limits` of a store
   * without them), `sync form only`, `async form only` (`tar`), `declared limits too small: …`
   * (`tar`, for a store whose limits cannot hold its round trip), `forms` (a form left out of the
   * option).
   */
  reason: string;
  /** The store's declarations call for it: strict mode fails on it. */
  required: boolean;
}

/** What one `runConformance` call runs, skips and verifies; computed before any test runs. */
export interface ConformanceReport {
  name: string;
  /** The forms tested. */
  forms: Form[];
  /** The sub-suites registered, per form tested. */
  run: Partial<Record<Form, SuiteName[]>>;
  /** What was left out, in registration order. */
  skipped: SkippedSuite[];
  /** Each capability the store claims (`true`) that ran sub-suites verify, with those sub-suites. */
  verified: Partial<Record<Capability, SuiteName[]>>;
  /** Each capability the store claims that no sub-suite verified, with what would verify it. */
  unverified: { capability: Capability; needs: string }[];
  /** What strict mode fails on; empty when nothing. */
  problems: string[];
  /** One line: what was skipped and why, and the claims nothing verified. */
  summary: string;
}

/** Why `suite` is not registered in `form` (undefined: it is). */
function gate(
  suite: SuiteName,
  form: Form,
  options: Pick<ConformanceOptions, 'skip' | 'probe' | 'reopen' | 'tar'>,
  declared: Declared,
  claims: Capabilities,
): SkippedSuite | undefined {
  const off = (reason: string, required = false): SkippedSuite => ({ suite, reason, required });
  // What the store declares switches these off before `skip` is looked at.
  if (suite === 'flush' || suite === 'readAtView') {
    if (!declared[suite]) return off('not declared');
    if (form !== 'sync') return off('sync form only', true);
  }
  if (suite === 'tar') {
    if (form !== 'async') return off('async form only');
    const tooSmall = tarDoesNotFit(options, declared.limits);
    if (tooSmall) return off(`declared limits too small: ${tooSmall}`);
  }
  const limits = declared.limits;
  if (suite === 'limits' && (!limits || Object.values(limits).every((v) => v === undefined))) {
    return off('not declared');
  }
  if (suite === 'persistence' && !claims.persistent) return off('not claimed');
  if (suite === 'atomicity' && !claims.atomicRename && !claims.atomicDirectoryRename) {
    return off('not claimed');
  }
  if (options.skip?.includes(suite)) return off('skip', !CLAIM_SUITES.has(suite));
  if (suite === 'probe' && !options.probe) return off('no probe');
  if ((suite === 'shared' || suite === 'sharedFiles' || suite === 'persistence') && !options.reopen) {
    return off('no reopen');
  }
  return undefined;
}

/**
 * What `runConformance(options)` registers for a store that declared `declared`: the sub-suites per
 * form, what it leaves out and why, which capability claims the registered sub-suites verify and
 * which none does, and what strict mode fails on. A pure function: the kit registers what it says.
 */
export function conformanceReport(
  options: Pick<ConformanceOptions, 'name' | 'skip' | 'probe' | 'reopen' | 'forms' | 'tar'>,
  declared: Declared,
): ConformanceReport {
  const claims = resolveCapabilities(declared.capabilities);
  const forms: Form[] = options.forms ? [...options.forms] : declared.sync ? ['async', 'sync'] : ['async'];
  const run: Partial<Record<Form, SuiteName[]>> = {};
  const skipped: SkippedSuite[] = [];
  for (const form of forms) run[form] = [];
  for (const form of ['async', 'sync'] as const) {
    if (!forms.includes(form)) {
      // The async form of a store is always worth running; the sync form only when there is a twin.
      if (form === 'async' || declared.sync) {
        skipped.push({ suite: `${form} form`, reason: 'forms', required: form === 'sync' });
      }
    }
  }
  const ran = new Set<SuiteName>();
  for (const suite of SUITE_ORDER) {
    const reasons: SkippedSuite[] = [];
    for (const form of forms) {
      const off = gate(suite, form, options, declared, claims);
      if (off) reasons.push(off);
      else {
        run[form]!.push(suite);
        ran.add(suite);
      }
    }
    if (ran.has(suite) || reasons.length === 0) continue;
    skipped.push({
      suite,
      reason: [...new Set(reasons.map((r) => r.reason))].join(', '),
      required: reasons.some((r) => r.required),
    });
  }
  const verified: Partial<Record<Capability, SuiteName[]>> = {};
  const unverified: { capability: Capability; needs: string }[] = [];
  for (const capability of Object.keys(claims) as Capability[]) {
    if (!claims[capability]) continue;
    const by = claimVerifiers(capability, claims);
    const done = by.filter((suite) => ran.has(suite));
    if (done.length > 0) verified[capability] = done;
    else unverified.push({ capability, needs: NEEDS[by[0]!] });
  }
  const problems = [
    ...unverified.map((u) => `claims ${u.capability}, but nothing verified it (needs ${u.needs})`),
    ...skipped.filter((s) => s.required).map((s) => `${s.suite} was not run (${s.reason})`),
  ];
  const byReason = new Map<string, string[]>();
  for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.suite]);
  const skippedText = [...byReason].map(([reason, suites]) => `${suites.join(', ')} (${reason})`).join('; ');
  const summary = `skipped ${skippedText || 'nothing'} | unverified claims: ${
    unverified.map((u) => u.capability).join(', ') || 'none'
  }`;
  return { name: options.name, forms, run, skipped, verified, unverified, problems, summary };
}

/** Strict mode: `options.strict`, else the environment variable `VFS_CONFORMANCE_STRICT=1`. */
export function isStrict(options: Pick<ConformanceOptions, 'strict'>): boolean {
  return options.strict ?? process.env.VFS_CONFORMANCE_STRICT === '1';
}
