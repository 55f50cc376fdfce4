import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Context,
  type ContextManager,
  context,
  type HrTime,
  trace as otelTrace,
  ROOT_CONTEXT,
  SpanStatusCode,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkReadlink,
  checkRename,
  checkSymlink,
  createStorage,
  createSyncStorage,
  type Kind,
  toAsync,
  VfsError,
  type VfsSyncDriver,
} from '../src/index.js';
import { traceWithOpenTelemetry } from '../src/otel.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Files and links in one flat directory (the root): enough for the calls these tests make. */
function flatDriver(): VfsSyncDriver {
  const files = new Map<string, Uint8Array>();
  const links = new Map<string, string>();
  const kind = (p: string): Kind =>
    p === '/' ? 'directory' : files.has(p) ? 'file' : links.has(p) ? 'symlink' : undefined;
  const parent = (p: string): Kind => (p.lastIndexOf('/') === 0 ? 'directory' : undefined);
  const unsupported = (path: string) => {
    throw new VfsError('unsupported', 'flat test driver', { path });
  };
  return {
    read(p) {
      checkExistingFile(p, kind(p));
      return files.get(p)!.slice();
    },
    readAt(p, offset, length) {
      checkExistingFile(p, kind(p));
      return files.get(p)!.slice(offset, offset + length);
    },
    write(p, data) {
      checkFileTarget(p, kind(p), parent(p));
      files.set(p, data.slice());
    },
    writeAt: unsupported,
    setSize: unsupported,
    stat(p) {
      const k = kind(p);
      checkExists(p, k);
      return { kind: k, size: files.get(p)?.length ?? 0, created: 0, modified: 0, accessed: 0 };
    },
    list: () =>
      [...files].map(([p, data]) => ({ name: p.slice(1), kind: 'file' as const, size: data.length })),
    exists: (p) => kind(p) !== undefined,
    mkdir: unsupported,
    rmdir: unsupported,
    delete: unsupported,
    rename(from, to) {
      if (checkRename(from, to, kind(from), kind(to), parent(to)) === 'noop') return;
      files.set(to, files.get(from)!);
      files.delete(from);
    },
    setTimes: unsupported,
    symlink(p, target) {
      checkSymlink(p, kind(p), parent(p));
      links.set(p, target);
    },
    readlink(p) {
      checkReadlink(p, kind(p));
      return links.get(p)!;
    },
  };
}

const ms = ([seconds, nanos]: HrTime) => seconds * 1000 + nanos / 1e6;

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider, tracer: provider.getTracer('vfs-test') };
}

/** A minimal async context manager, as @opentelemetry/context-async-hooks provides in production. */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

afterEach(() => {
  context.disable();
  otelTrace.disable();
});

describe('traceWithOpenTelemetry', () => {
  it('records one span per call, named vfs.<operation>, with path, bytes and the given attributes', async () => {
    const { exporter, tracer } = setup();
    const storage = traceWithOpenTelemetry(toAsync(createSyncStorage(flatDriver())), {
      tracer,
      attributes: { 'vfs.mount': '/data' },
    });
    await storage.write('/a.txt', enc('hello'));
    await storage.readAt('/a.txt', 1, 3);
    await storage.rename('/a.txt', '/b.txt');
    expect(await storage.exists('/b.txt')).toBe(true);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['vfs.write', 'vfs.readAt', 'vfs.rename', 'vfs.exists']);
    expect(spans.map((s) => s.attributes)).toEqual([
      { 'vfs.mount': '/data', 'vfs.operation': 'write', 'vfs.path': '/a.txt', 'vfs.bytes': 5 },
      { 'vfs.mount': '/data', 'vfs.operation': 'readAt', 'vfs.path': '/a.txt', 'vfs.bytes': 3 },
      { 'vfs.mount': '/data', 'vfs.operation': 'rename', 'vfs.path': '/a.txt', 'vfs.to': '/b.txt' },
      { 'vfs.mount': '/data', 'vfs.operation': 'exists', 'vfs.path': '/b.txt' },
    ]);
    for (const span of spans) expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans[0]!.instrumentationScope.name).toBe('vfs-test');
  });

  it('records symbolic link calls as vfs.symlink and vfs.readlink, failures included', async () => {
    const { exporter, tracer } = setup();
    const storage = traceWithOpenTelemetry(createSyncStorage(flatDriver()), { tracer });
    storage.symlink('/l', 'target');
    expect(storage.readlink('/l')).toBe('target');
    expect(() => storage.symlink('/l', 'again')).toThrow(VfsError);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.attributes['vfs.path'], s.status.code])).toEqual([
      ['vfs.symlink', '/l', SpanStatusCode.UNSET],
      ['vfs.readlink', '/l', SpanStatusCode.UNSET],
      ['vfs.symlink', '/l', SpanStatusCode.ERROR],
    ]);
    expect(spans[2]!.attributes['error.type']).toBe('already-exists');
  });

  it('marks a failed call as an error, records the exception and rethrows the same error', async () => {
    const { exporter, tracer } = setup();
    const storage = traceWithOpenTelemetry(createSyncStorage(flatDriver()), { tracer });
    let thrown: unknown;
    try {
      storage.read('/missing');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(VfsError);
    const [span] = exporter.getFinishedSpans() as [ReadableSpan];
    expect(span.name).toBe('vfs.read');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: (thrown as Error).message });
    expect(span.attributes['error.type']).toBe('not-found');
    expect(span.attributes['vfs.bytes']).toBeUndefined();
    // The SDK takes exception.type from the error's `code` when it has one.
    expect(
      span.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']]),
    ).toEqual([['exception', 'not-found', (thrown as Error).message]]);
    expect(ms(span.events[0]!.time)).toBeCloseTo(ms(span.endTime), 3);
  });

  it('gives spans the start and duration of the call, an async one until it settles', async () => {
    const { exporter, tracer } = setup();
    const driver = flatDriver();
    const slow = createStorage({
      ...toAsync(createSyncStorage(driver)),
      stat: async (p: string) => {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return driver.stat(p);
      },
    });
    const storage = traceWithOpenTelemetry(slow, { tracer });
    const before = Date.now();
    await storage.stat('/');
    const after = Date.now();
    const [span] = exporter.getFinishedSpans() as [ReadableSpan];
    // Epoch milliseconds (the SDK maps performance.now() timestamps), around the call.
    expect(ms(span.startTime)).toBeGreaterThanOrEqual(before - 5);
    expect(ms(span.startTime)).toBeLessThanOrEqual(before + 20);
    expect(ms(span.duration)).toBeGreaterThanOrEqual(35);
    expect(ms(span.endTime)).toBeLessThanOrEqual(after + 5);
    expect(ms(span.endTime) - ms(span.startTime)).toBeCloseTo(ms(span.duration), 3);
  });

  it("makes spans children of the caller's active span, across awaits", async () => {
    context.setGlobalContextManager(new AsyncLocalContextManager());
    const { exporter, tracer } = setup();
    const storage = traceWithOpenTelemetry(toAsync(createSyncStorage(flatDriver())), { tracer });
    await tracer.startActiveSpan('request', async (outer) => {
      await storage.write('/x', enc('1'));
      storage.sync!.read('/x');
      outer.end();
    });
    const spans = exporter.getFinishedSpans();
    const outer = spans.find((s) => s.name === 'request')!;
    const children = spans.filter((s) => s.name.startsWith('vfs.'));
    expect(children.map((s) => s.name)).toEqual(['vfs.write', 'vfs.read']);
    for (const child of children) {
      expect(child.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
      expect(child.spanContext().traceId).toBe(outer.spanContext().traceId);
    }
  });

  it("uses the global provider's tracer by default, even one registered after wrapping", async () => {
    const storage = traceWithOpenTelemetry(createSyncStorage(flatDriver()));
    const { exporter, provider } = setup();
    otelTrace.setGlobalTracerProvider(provider);
    storage.exists('/x');
    const [span] = exporter.getFinishedSpans() as [ReadableSpan];
    expect(span.name).toBe('vfs.exists');
    expect(span.instrumentationScope.name).toBe('@eryx/vfs-core');
  });

  it('costs nothing but a no-op span without a provider, and still passes results', () => {
    const storage = traceWithOpenTelemetry(createSyncStorage(flatDriver()));
    storage.write('/y', enc('abc'));
    expect(storage.read('/y')).toEqual(enc('abc'));
  });
});

describe('the main entry', () => {
  it('never loads @opentelemetry/api: no module it imports names it', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '../src');
    const seen = new Set<string>();
    const pending = [join(src, 'index.ts')];
    const external = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      for (const [, specifier] of code.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (specifier!.startsWith('.')) pending.push(join(dirname(file), specifier!.replace(/\.js$/, '.ts')));
        else external.add(specifier!);
      }
    }
    expect(seen.has(join(src, 'trace.ts'))).toBe(true);
    expect(seen.has(join(src, 'otel.ts'))).toBe(false);
    expect([...external].filter((s) => s.startsWith('@opentelemetry'))).toEqual([]);
  });
});
