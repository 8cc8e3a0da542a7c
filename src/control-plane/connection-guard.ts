/**
 * How many connections the server holds, and which it lets go of first. Past `maxConnections` a new connection is
 * not refused while an older one is only taking up room: the oldest connection that serves no known client (one
 * still trickling its headers, idle between requests, or sending an unauthenticated body) is closed to make room, so
 * a slowloris of any size cannot keep `/healthz`, a runner or the admin out. Only when every connection serves an
 * authenticated request (long-polls, event uploads, admin calls) does a new one get a 503 and a Retry-After.
 *
 * A connection that has not sent a whole request head within `headersTimeoutMs` of opening is closed too (node's own
 * headersTimeout starts only at the first byte: a socket that sends nothing would be held forever).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGuardOptions {
  maxConnections: number;
  headersTimeoutMs: number;
  log: (line: string) => void;
}

export interface ConnectionGuard {
  /** The connection now serves an authenticated request: it is not closed to make room until that request ends. */
  trust(socket: Socket): void;
  /** Its request ended: the connection may be closed to make room again. */
  release(socket: Socket): void;
  /**
   * A request arrived on it: no more head timeout (its route's own timeouts apply). False when the connection was
   * answered 503 already: the request must not be served.
   */
  requestStarted(socket: Socket): boolean;
  readonly size: number;
}

/** How long a client refused for a full server should wait. */
const FULL_RETRY_AFTER_SEC = 5;
/** File descriptors kept for the database, files and the log when the connection limit comes from the fd limit. */
const RESERVED_DESCRIPTORS = 128;
/** Every waiting runner holds a connection (its long-poll): ten thousand of them must fit (docs/benchmarks.md). */
const MAX_DEFAULT_CONNECTIONS = 32_768;

/**
 * The default connection limit: below the process's open-file limit (`ulimit -n`), so that accepting never fails
 * with EMFILE and the database always has descriptors left; at most 32,768.
 */
export function defaultMaxConnections(): number {
  let softLimit: number | undefined;
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    softLimit = line === undefined || line === 'unlimited' ? undefined : Number(line);
  } catch {
    // Not Linux: no cheap way to read the limit; keep the usual default of 1024 in mind.
    softLimit = 1024;
  }
  if (softLimit === undefined) return MAX_DEFAULT_CONNECTIONS;
  return Math.max(16, Math.min(MAX_DEFAULT_CONNECTIONS, softLimit - Math.max(RESERVED_DESCRIPTORS, Math.floor(softLimit / 8))));
}

interface Held {
  /** Authenticated requests in flight on it (HTTP/1.1 has one at a time; counted to stay right whatever happens). */
  trusted: number;
}

export function guardConnections(server: Server, options: ConnectionGuardOptions): ConnectionGuard {
  // Insertion order is age order: the first entry without a trusted request is the one to let go of.
  const held = new Map<Socket, Held>();
  const refused = new WeakSet<Socket>();
  let refusedSinceLog = 0;
  let lastRefusalLog = 0;

  server.on('connection', (socket: Socket) => {
    if (held.size >= options.maxConnections && !makeRoom()) {
      refuse(socket);
      return;
    }
    held.set(socket, { trusted: 0 });
    socket.once('close', () => held.delete(socket));
    // Until its first request arrives; node's 'timeout' handling closes the socket when no one else handles it.
    socket.setTimeout(options.headersTimeoutMs);
  });

  function makeRoom(): boolean {
    for (const [socket, state] of held) {
      if (state.trusted > 0) continue;
      held.delete(socket);
      socket.destroy();
      return true;
    }
    return false;
  }

  function refuse(socket: Socket): void {
    refusedSinceLog++;
    const now = Date.now();
    if (now - lastRefusalLog >= 10_000) {
      options.log(
        `connection limit (${options.maxConnections}) reached with every connection serving an authenticated request: ` +
          `answered 503 to ${refusedSinceLog} connection(s); raise --max-connections (and ulimit -n) if this is real load`,
      );
      lastRefusalLog = now;
      refusedSinceLog = 0;
    }
    const requestId = randomUUID();
    const body = JSON.stringify({
      error: 'server_busy',
      message: `The server holds its limit of ${options.maxConnections} connections, all busy; retry in a few seconds.`,
      requestId,
    });
    refused.add(socket);
    socket.on('error', () => {});
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nx-request-id: ${requestId}\r\nretry-after: ${FULL_RETRY_AFTER_SEC}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    socket.destroySoon();
  }

  return {
    trust(socket) {
      const state = held.get(socket);
      if (state) state.trusted++;
    },
    release(socket) {
      const state = held.get(socket);
      if (state && state.trusted > 0) state.trusted--;
    },
    requestStarted(socket) {
      if (refused.has(socket)) return false;
      socket.setTimeout(0);
      return true;
    },
    get size() {
      return held.size;
    },
  };
}
