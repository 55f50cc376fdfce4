import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * What an armed fault does to the connection carrying the request it hits:
 * - `reset`: both sockets are reset (RST); the client sees `ECONNRESET`.
 * - `cut`: both sockets are closed (FIN); the client sees the connection end without an answer.
 * - `stall`: nothing more is forwarded on that connection, either way, until {@link FaultProxy.heal}
 *   or {@link FaultProxy.close}; the client waits for its own timeout.
 */
export type FaultMode = 'reset' | 'cut' | 'stall';

/** A fault to inject; see {@link FaultProxy.fail}. */
export interface FaultSpec {
  mode: FaultMode;
  /**
   * Which request from now it hits, 1 being the next one. A request is what a client sends after
   * the server has spoken on that connection (or first on a new connection): one HTTP request,
   * one PostgreSQL query round trip. Default 1.
   */
  request?: number;
  /**
   * `before` (default): the request never reaches the server. `after`: the request is forwarded
   * and the fault strikes when the server starts answering, so the server did the work but the
   * client never hears of it — the "outcome unknown" case.
   */
  when?: 'before' | 'after';
  /**
   * For a `before` reset: bytes of the request forwarded before it strikes (default 0), so a
   * positive value cuts a request in the middle of its body.
   */
  afterBytes?: number;
  /** How many consecutive requests it hits (clients retry). Default 1; `Infinity` until healed. */
  count?: number;
}

/** A TCP proxy between a client and a server (PostgreSQL, S3) that injects network faults. */
export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** Arms a fault; it replaces one that is still armed. */
  fail(spec: FaultSpec): void;
  /** Disarms any fault and lets stalled connections go on. */
  heal(): void;
  /** Requests seen so far, and how many a fault hit. */
  readonly stats: { connections: number; requests: number; faults: number };
  /** Resolves when the armed fault has hit `count` requests. */
  struck(): Promise<void>;
  close(): Promise<void>;
}

interface Armed {
  spec: Required<FaultSpec>;
  /** Requests still to pass before the fault strikes. */
  skip: number;
  left: number;
  done: () => void;
  promise: Promise<void>;
}

interface Link {
  client: Socket;
  server: Socket;
  /** The server has spoken since the client last did: the client's next bytes start a request. */
  turn: boolean;
  /**
   * Set by a fault: `stalled` holds traffic; `bytesLeft` forwards that much of the request, then
   * resets; `onAnswer` strikes when the server starts answering.
   */
  state: 'open' | 'stalled' | { bytesLeft: number } | { onAnswer: FaultMode };
  held: { to: Socket; data: Buffer }[];
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) forwarding to `target`. Faults are armed with
 * {@link FaultProxy.fail}; with none armed it is a plain pipe.
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
 * proxy.fail({ mode: 'reset', when: 'after' }); // the next query runs, its answer is lost
 * ```
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const links = new Set<Link>();
  const stats = { connections: 0, requests: 0, faults: 0 };
  let armed: Armed | undefined;

  function strike(link: Link, mode: FaultMode): void {
    stats.faults++;
    if (mode === 'stall') {
      link.state = 'stalled';
      return;
    }
    links.delete(link);
    if (mode === 'reset') {
      link.client.resetAndDestroy();
      link.server.resetAndDestroy();
    } else {
      link.client.end();
      link.server.end();
      link.client.destroySoon();
      link.server.destroySoon();
    }
  }

  /** A request starts on `link`: whether the armed fault takes it. */
  function hits(): Armed | undefined {
    stats.requests++;
    if (!armed) return undefined;
    if (armed.skip > 0) {
      armed.skip--;
      return undefined;
    }
    const hit = armed;
    if (--hit.left <= 0) {
      armed = undefined;
      hit.done();
    }
    return hit;
  }

  function forward(link: Link, to: Socket, data: Buffer): void {
    if (link.state === 'stalled') link.held.push({ to, data });
    else to.write(data);
  }

  const server: Server = createServer((client) => {
    stats.connections++;
    const upstream = createConnection(target);
    const link: Link = { client, server: upstream, turn: true, state: 'open', held: [] };
    links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    client.on('data', (data: Buffer) => {
      if (typeof link.state === 'object' && 'bytesLeft' in link.state) {
        // A `before` fault cutting the request in its middle: pass what is left, then strike.
        const pass = data.subarray(0, link.state.bytesLeft);
        link.state.bytesLeft -= pass.length;
        if (pass.length > 0) upstream.write(pass);
        if (link.state.bytesLeft <= 0) strike(link, 'reset');
        return;
      }
      if (link.turn && link.state === 'open') {
        link.turn = false;
        const hit = hits();
        if (hit) {
          const { mode, when, afterBytes } = hit.spec;
          if (when === 'after') link.state = { onAnswer: mode };
          else if (mode === 'reset' && afterBytes > 0) {
            link.state = { bytesLeft: afterBytes };
            client.emit('data', data);
            return;
          } else {
            strike(link, mode);
            if (mode !== 'stall') return;
          }
        }
      }
      forward(link, upstream, data);
    });
    upstream.on('data', (data: Buffer) => {
      link.turn = true;
      if (typeof link.state === 'object' && 'onAnswer' in link.state) {
        const mode = link.state.onAnswer;
        link.state = 'open';
        strike(link, mode);
        if (mode !== 'stall') return;
      }
      forward(link, client, data);
    });
    const drop = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('error', drop);
    upstream.on('error', drop);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    stats,
    fail(spec) {
      let done!: () => void;
      const promise = new Promise<void>((resolve) => {
        done = resolve;
      });
      const full: Required<FaultSpec> = {
        request: 1,
        when: 'before',
        afterBytes: 0,
        count: 1,
        ...spec,
      };
      armed = { spec: full, skip: full.request - 1, left: full.count, done, promise };
    },
    heal() {
      armed?.done();
      armed = undefined;
      for (const link of links) {
        if (link.state !== 'stalled') continue;
        link.state = 'open';
        for (const { to, data } of link.held.splice(0)) to.write(data);
      }
    },
    struck() {
      return armed?.promise ?? Promise.resolve();
    },
    async close() {
      armed = undefined;
      for (const link of links) {
        link.client.destroy();
        link.server.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
