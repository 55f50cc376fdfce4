import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findHostPython, fixture, python, tempDir, URL_STORES } from './helpers.js';

/*
 * Everyday scripts (os, pathlib, shutil, json, tempfile, io, and the errors they catch) print
 * what they did with paths relative to their base directory, so the guest on a mount and the
 * host's CPython on a temporary directory print the same. The host's output is committed as
 * golden files (test/fixtures/regenerate.mjs writes them) so that machines without Python compare
 * too; where a CPython 3.11 is installed, the guest is also compared with it live.
 */

const SCRIPTS = readdirSync(fixture('everyday'))
  .filter((name) => name.endsWith('.py'))
  .map((name) => name.slice(0, -3))
  .sort();

const hostPython = findHostPython();

const scriptCode = (name: string) => readFileSync(fixture(`everyday/${name}.py`), 'utf8');
const golden = (name: string) => readFileSync(fixture(`everyday/${name}.out`), 'utf8');

/**
 * Where the guest knowingly differs from Linux, as [host line, guest line]. Each entry must still
 * occur (the test fails once the guest matches Linux, so the entry is removed then). None today.
 */
const KNOWN_DIFFERENCES: Record<string, Array<[host: string, guest: string]>> = {};

/** The host's output with the known differences applied: what the guest must print. */
function forGuest(name: string, hostOutput: string): string {
  const lines = hostOutput.split('\n');
  for (const [host, guest] of KNOWN_DIFFERENCES[name] ?? []) {
    const at = lines.indexOf(host);
    expect(at, `known difference no longer in the host's output of ${name}: ${host}`).toBeGreaterThanOrEqual(
      0,
    );
    lines[at] = guest;
  }
  return lines.join('\n');
}

/** The script run by the guest with its base directory at /data/work on `mount`. */
async function inGuest(name: string, mount: string): Promise<string> {
  const result = await python({
    code: scriptCode(name),
    args: ['/data/work'],
    mounts: { '/data': mount },
    timeout: 90_000,
  });
  expect(result.stderr).toBe('');
  expect(result).toMatchObject({ status: 'exited', exitCode: 0, unstored: [] });
  return result.stdout;
}

describe.each(SCRIPTS)('everyday script %s.py', (name) => {
  it('has a golden output without host paths in it', () => {
    const expected = golden(name);
    expect(expected.split('\n').length).toBeGreaterThan(10);
    expect(expected).not.toMatch(/\/tmp\/|vfs-python-golden/);
  });

  // One guest run on a memory store serves the golden and the live comparison.
  let onMemory: Promise<string> | undefined;
  const guestOnMemory = () => {
    onMemory ??= inGuest(name, 'memory:');
    return onMemory;
  };

  it('prints in the guest on a memory store what CPython prints on the host', async () => {
    expect(await guestOnMemory()).toBe(forGuest(name, golden(name)));
  });

  it.each(URL_STORES)('prints the same on a $name store', async (store) => {
    const url = store.url();
    try {
      expect(await inGuest(name, url)).toBe(forGuest(name, golden(name)));
    } finally {
      await store.drop(url);
    }
  });

  // Only where a host CPython 3.11 exists (CI machines may have none; the golden files stand in).
  it.runIf(hostPython !== undefined)(
    `matches the host's CPython live (${hostPython ?? 'none'})`,
    async () => {
      const base = join(tempDir('vfs-python-live-'), 'work');
      const host = spawnSync(hostPython!, ['-I', '-c', scriptCode(name), base], { encoding: 'utf8' });
      expect(host.stderr).toBe('');
      expect(host.status).toBe(0);
      expect(host.stdout, 'the golden file is stale: run test/fixtures/regenerate.mjs').toBe(golden(name));
      expect(await guestOnMemory()).toBe(forGuest(name, host.stdout));
    },
  );
});
