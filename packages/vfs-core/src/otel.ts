import {
  type Attributes,
  type Exception,
  trace as openTelemetry,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { errorLabel, type TraceEvent, trace } from './trace.js';
import type { VfsStorage, VfsSyncStorage } from './types.js';

/*
 * The OpenTelemetry adapter, at its own entry point (`@eryx/vfs-core/otel`): only users who
 * installed `@opentelemetry/api` (an optional peer dependency) load it, and the main entry never does.
 */

/** Options of {@link traceWithOpenTelemetry}. */
export interface OpenTelemetryTraceOptions {
  /** The tracer that makes the spans. Default: the global provider's tracer `@eryx/vfs-core`. */
  tracer?: Tracer;
  /** Attributes added to every span (a mount's name, a tenant), before the call's own. */
  attributes?: Attributes;
}

/**
 * A view of `storage` that records one OpenTelemetry span per storage call, built on
 * {@link trace} (so: either form, every operation, results and errors unchanged):
 *
 * - named `vfs.<operation>` (`vfs.read`, `vfs.rename`; `readAtView` is `vfs.readAt`);
 * - starting when the call began and ending when it returned or its promise settled;
 * - a child of the context active when the call ended (the caller's, with an async context manager);
 * - attributes `vfs.operation`, `vfs.path`, `vfs.to` (`rename`'s target) and `vfs.bytes` (bytes
 *   read or written, on success), after `options.attributes`;
 * - on failure, status `ERROR` with the error's message, the exception recorded, and `error.type`
 *   set to the `VfsError` code (`not-found`) or the error's name.
 *
 * ```ts
 * import { traceWithOpenTelemetry } from '@eryx/vfs-core/otel';
 * const storage = traceWithOpenTelemetry(memory(), { attributes: { 'vfs.mount': '/data' } });
 * ```
 */
export function traceWithOpenTelemetry(
  storage: VfsSyncStorage,
  options?: OpenTelemetryTraceOptions,
): VfsSyncStorage;
export function traceWithOpenTelemetry(storage: VfsStorage, options?: OpenTelemetryTraceOptions): VfsStorage;
export function traceWithOpenTelemetry(
  storage: VfsStorage | VfsSyncStorage,
  options?: OpenTelemetryTraceOptions,
): VfsStorage | VfsSyncStorage;
export function traceWithOpenTelemetry(
  storage: VfsStorage | VfsSyncStorage,
  options: OpenTelemetryTraceOptions = {},
): VfsStorage | VfsSyncStorage {
  // A ProxyTracer until a provider is registered, which it then delegates to.
  const tracer = options.tracer ?? openTelemetry.getTracer('@eryx/vfs-core');
  const base = options.attributes;
  const onCall = (event: TraceEvent) => {
    const attributes: Attributes = {
      ...base,
      'vfs.operation': event.operation,
      'vfs.path': text(event.path),
    };
    if (event.to !== undefined) attributes['vfs.to'] = text(event.to);
    if (event.bytes !== undefined) attributes['vfs.bytes'] = event.bytes;
    // performance.now() timestamps, which the API accepts as TimeInput; the SDK maps them to epoch time.
    const span = tracer.startSpan(`vfs.${event.operation}`, { startTime: event.startTime, attributes });
    const end = event.startTime + event.durationMs;
    if (event.outcome === 'error') {
      const { error } = event;
      span.setAttribute('error.type', errorLabel(error));
      span.recordException(asException(error), end);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    }
    span.end(end);
  };
  return trace(storage, { onCall });
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

function asException(error: unknown): Exception {
  if (error instanceof Error || typeof error === 'string') return error;
  return String(error);
}
