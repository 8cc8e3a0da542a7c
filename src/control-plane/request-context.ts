/**
 * What a route sees of its request (`RouteContext`), and the one class that implements it for every request.
 *
 * A class rather than an object of closures: ten thousand waiting long-polls each hold their context for up to the
 * whole poll, and methods on a prototype cost nothing per request, where seven closures and the frame they capture
 * cost about a kilobyte each (docs/benchmarks.md, "The control plane at scale"). For the same reason the query, the
 * log notes and the stop signal are made only when a route first asks for them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionGuard } from './connection-guard.js';
import { ControlPlaneError, invalidRequest, RetryLaterError } from './errors.js';
import type { RefusalThrottle } from './refusal-throttle.js';

export interface RouteContext {
  req: IncomingMessage;
  requestId: string;
  /** A parameter of the route's path (`id` of `/jobs/:id`); one the path does not name is a bug, and throws naming it. */
  param(name: string): string;
  query: URLSearchParams;
  /** Aborted when the client disconnects or the server closes: stop waiting. */
  signal: AbortSignal;
  /**
   * The body parsed as JSON; undefined when empty. 413 past the route's size limit, 408 past its time limit, 400
   * when not JSON. Call it only once the request is known to be allowed: a refused request's body is never read.
   */
  readJson(): Promise<unknown>;
  /** Adds `key=value` to this request's log line (e.g. a token preview; never a secret). */
  note(key: string, value: string): void;
  /** The client's address, as the socket sees it. */
  clientAddress: string;
  /**
   * The request carries valid credentials of `principal` (a runner token's id, the admin): its connection is not
   * shed to make room until it ends. Throws a 429 when that principal already has its most requests in flight, so
   * that one token cannot hold every connection the server has.
   */
  authenticated(principal: string): void;
  /** Whether this client has used up its refusals for now: a credential it presents need not even be looked up. */
  refusalsUsedUp(): boolean;
  /** What to throw for wrong credentials: `refusal` itself (a 401), or a 429 once the client has had too many. */
  refuse(refusal: ControlPlaneError): ControlPlaneError;
}

/** What a matched route tells its context: where its parameters come from and how much body it reads. */
export interface RouteLimits {
  method: string;
  path: string;
  /** The most body this route reads. */
  maxBodyBytes: number;
  /** How long the body may take to arrive once the route starts reading it. */
  bodyTimeoutMs: number;
}

/** What every request's context shares with its server. */
export interface ServerState {
  /** Set when the server begins to close: a stop asked for from then on is aborted at once. */
  closing: boolean;
  /** The stops of requests in flight that asked for one; the server's close aborts them. */
  readonly stops: Set<AbortController>;
  readonly budget: BodyBudget;
  readonly refusals: RefusalThrottle;
  readonly connections: ConnectionGuard;
  /** Authenticated requests in flight per principal. */
  readonly principals: Map<string, number>;
  readonly maxRequestsPerPrincipal: number;
}

/** Bytes of request bodies held at once, by every request together. */
export interface BodyBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

export function bodyBudget(maxBytes: number): BodyBudget {
  let held = 0;
  return {
    take(bytes) {
      if (held + bytes > maxBytes) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held -= bytes;
    },
  };
}

const NO_PARAMS: ReadonlyMap<string, string> = new Map();

/**
 * Why a request's stop was aborted. Made once: `abort()` without a reason makes a DOMException with its stack for
 * every request, which a thousand runners going at once (a restart of theirs, a proxy's timeout) pay a thousand times.
 */
const CLIENT_GONE = new Error('the client went away');
export const SERVER_CLOSING = new Error('the server is closing');

export class RequestContext implements RouteContext {
  readonly clientAddress: string;
  /** The client went before its answer was sent. */
  clientGone = false;
  /** A body is left unread on the connection (a 413, 408 or 503 while reading it): close it after the answer. */
  closeConnection = false;
  /** A refusal the throttle already accounts for in its own log. */
  quietRefusal = false;
  private route: RouteLimits | undefined;
  private params = NO_PARAMS;
  private rawQuery = '';
  private parsedQuery: URLSearchParams | undefined;
  private notes: string[] | undefined;
  private stop: AbortController | undefined;
  private principal: string | undefined;

  constructor(
    readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly requestId: string,
    private readonly server: ServerState,
  ) {
    this.clientAddress = req.socket.remoteAddress ?? 'unknown';
  }

  /** The route that serves the request, its path's parameters and the query (not yet parsed). */
  routed(route: RouteLimits, params: ReadonlyMap<string, string>, rawQuery: string): void {
    this.route = route;
    this.params = params;
    this.rawQuery = rawQuery;
  }

  param(name: string): string {
    const value = this.params.get(name);
    if (value === undefined) throw new Error(`the route ${this.route?.method} ${this.route?.path} has no parameter :${name}`);
    return value;
  }

  get query(): URLSearchParams {
    // URLSearchParams never throws: a broken escape in the query stays as it is, and validation judges the value.
    this.parsedQuery ??= new URLSearchParams(this.rawQuery);
    return this.parsedQuery;
  }

  get signal(): AbortSignal {
    if (this.stop === undefined) {
      this.stop = new AbortController();
      if (this.clientGone) this.stop.abort(CLIENT_GONE);
      else if (this.server.closing) this.stop.abort(SERVER_CLOSING);
      else this.server.stops.add(this.stop);
    }
    return this.stop.signal;
  }

  async readJson(): Promise<unknown> {
    const { req, res, route } = this;
    if (route === undefined) throw new Error('readJson() before the request was routed');
    const max = route.maxBodyBytes;
    let body: Buffer;
    try {
      // Refused before a byte of it is sent: a client that asked first (`expect: 100-continue`) is told 413
      // instead of "continue", and one that did not is not read.
      if (Number(req.headers['content-length']) > max) throw payloadTooLarge(max);
      // A client that asked first sends its body only now that the route wants it.
      if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
      body = await readBody(req, max, route.bodyTimeoutMs, this.server.budget);
    } catch (err) {
      if (err instanceof ControlPlaneError) this.closeConnection = true;
      throw err;
    }
    if (body.length === 0) return undefined;
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      throw invalidRequest(`The request body is not valid JSON (${(err as Error).message}); send a JSON object.`);
    }
  }

  note(key: string, value: string): void {
    (this.notes ??= []).push(`${key}=${value}`);
  }

  /** The notes, as they end the request's log line. */
  get notesText(): string {
    return this.notes === undefined ? '' : this.notes.map((n) => ` ${n}`).join('');
  }

  authenticated(who: string): void {
    if (this.principal !== undefined || this.res.closed) return;
    const { principals, maxRequestsPerPrincipal, connections } = this.server;
    const inflight = principals.get(who) ?? 0;
    if (inflight >= maxRequestsPerPrincipal) {
      throw new RetryLaterError(
        429,
        'too_many_requests',
        `These credentials already have ${inflight} requests in flight, the most one client may; send this one when one of them has ended.`,
        1,
      );
    }
    principals.set(who, inflight + 1);
    this.principal = who;
    connections.trust(this.req.socket as Socket);
  }

  refusalsUsedUp(): boolean {
    return this.server.refusals.retryAfterSec(this.clientAddress) !== undefined;
  }

  refuse(refusal: ControlPlaneError): ControlPlaneError {
    const { refusals } = this.server;
    const retryAfterSec = refusals.retryAfterSec(this.clientAddress);
    this.quietRefusal = !refusals.refused(this.clientAddress);
    if (retryAfterSec === undefined) return refusal;
    return new RetryLaterError(
      429,
      'too_many_refusals',
      `Too many requests with a wrong key or token from ${this.clientAddress}; wait ${retryAfterSec}s, then check the key or token.`,
      retryAfterSec,
    );
  }

  /** The response closed: its answer was sent, or its client went first (then the stop is aborted). */
  ended(): void {
    const { server } = this;
    if (this.stop !== undefined) server.stops.delete(this.stop);
    if (!this.res.writableFinished) {
      this.clientGone = true;
      this.stop?.abort(CLIENT_GONE);
    }
    const { principal } = this;
    if (principal === undefined) return;
    server.connections.release(this.req.socket as Socket);
    const inflight = (server.principals.get(principal) ?? 1) - 1;
    if (inflight > 0) server.principals.set(principal, inflight);
    else server.principals.delete(principal);
  }
}

export function payloadTooLarge(max: number): ControlPlaneError {
  return new ControlPlaneError(
    413,
    'payload_too_large',
    `The request body is over the server's limit of ${max} bytes; send less per request (e.g. smaller event batches).`,
  );
}

function bodyTimeout(ms: number): ControlPlaneError {
  return new ControlPlaneError(408, 'request_timeout', `The request body did not arrive within ${ms / 1000}s; send it again.`);
}

const BUSY_RETRY_AFTER_SEC = 5;

/**
 * Reads at most `max` bytes within `timeoutMs`, and only while the server's body budget lasts (a declared length past
 * `max` is refused before this is called); past any of them it stops reading (the connection is closed after the 413, 408 or 503).
 */
function readBody(req: IncomingMessage, max: number, timeoutMs: number, budget: BodyBudget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      req.pause();
      reject(bodyTimeout(timeoutMs));
    }, timeoutMs);
    const cleanup = () => {
      budget.give(size);
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > max || !budget.take(chunk.length)) {
        const tooLarge = size + chunk.length > max;
        cleanup();
        req.pause();
        reject(
          tooLarge
            ? payloadTooLarge(max)
            : new RetryLaterError(
                503,
                'server_busy',
                'The server holds as many request bodies as it may at once; send it again shortly.',
                BUSY_RETRY_AFTER_SEC,
              ),
        );
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the client closed the connection before sending the whole body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
