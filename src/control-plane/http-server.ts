/**
 * The HTTP layer on `node:http`: routing, request ids, bounded JSON bodies, JSON error bodies, access logs,
 * client-disconnect and shutdown signals for long-polls, and a close that drains what is in flight.
 * Handlers return a `Reply` (or throw a `ControlPlaneError`) and never touch the response themselves, so every
 * answer gets the same headers and error shape.
 *
 * Nothing a client sends can reject into the process: the target is parsed inside the error boundary, each route
 * reads at most its own body size within its own time (and only once it has checked who is asking), connections are
 * bounded and shed oldest-idle-first (connection-guard.ts), and wrong credentials are throttled per client address
 * (refusal-throttle.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { defaultMaxConnections, guardConnections } from './connection-guard.js';
import { ControlPlaneError, invalidRequest, RetryLaterError } from './errors.js';
import { jsonChunks, writePieces } from './json-writer.js';
import { requestScope } from './process-guard.js';
import { RefusalThrottle, type RefusalThrottleOptions } from './refusal-throttle.js';
import { parseRequestTarget } from './request-target.js';

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

export interface Reply {
  status: number;
  body?: unknown;
  /** Extra response headers (set-cookie, cache-control, content-security-policy, …). */
  headers?: Record<string, string | string[]>;
  /** Sent as it is instead of a JSON body (static files); give its content-type in `headers`. */
  raw?: Buffer;
  /**
   * Writes the body itself after the head was sent (server-sent events); the request stays in flight until it
   * resolves, so it must end when the route's `signal` aborts (client gone, server closing).
   */
  stream?: (res: ServerResponse) => Promise<void>;
}

export type Handler = (ctx: RouteContext) => Promise<Reply>;

export interface Route {
  method: 'GET' | 'POST';
  /** e.g. `/api/runner/jobs/:id/claim`. */
  path: string;
  handler: Handler;
  /** Statuses not worth a log line (a long-poll's routine 204). */
  quietStatuses?: readonly number[];
  /** The most body this route reads. Default SMALL_BODY_BYTES. */
  maxBodyBytes?: number;
  /** How long the body may take to arrive once the route starts reading it. Default BODY_TIMEOUT_MS. */
  bodyTimeoutMs?: number;
}

export interface HttpServerOptions {
  routes: readonly Route[];
  log: (line: string) => void;
  /** Connections held at once; past it the oldest unauthenticated one is closed, or the new one gets a 503. */
  maxConnections?: number;
  /** How long a connection may take to send a whole request head. Default 10 s. */
  headersTimeoutMs?: number;
  /** How many wrong credentials a client address may send, and per how long, before it gets 429s. */
  refusals?: Pick<RefusalThrottleOptions, 'limit' | 'windowMs'>;
  /** Requests one principal may have in flight (long-polls, streams, uploads). Default DEFAULT_REQUESTS_PER_PRINCIPAL. */
  maxRequestsPerPrincipal?: number;
  /** Request bodies held in memory at once, all requests together; past it a body gets 503 and Retry-After. Default 256 MiB. */
  maxBufferedBodyBytes?: number;
}

/** What a route reads unless it says otherwise: admin JSON, a heartbeat. */
export const SMALL_BODY_BYTES = 64 * 1024;
export const BODY_TIMEOUT_MS = 10_000;
/** Requests one principal may have in flight unless told otherwise. */
export const DEFAULT_REQUESTS_PER_PRINCIPAL = 64;
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * Connections the kernel queues for accept. Past the queue a connection attempt is dropped and the client retries
 * only a second later: a burst of a thousand connects (a flood) must not make /healthz or a runner wait that second.
 * The kernel caps it at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4096;
/** A request (head and body) that takes longer is cut whatever its route; long-polls and streams are answers, not requests. */
const REQUEST_TIMEOUT_MS = 120_000;

export interface HttpServer {
  listen(host: string, port: number): Promise<string>;
  /** Ends waiting requests, answers new ones 503 meanwhile, waits for in-flight ones, closes every connection. */
  close(): Promise<void>;
  readonly server: Server;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
}

function compile(route: Route): CompiledRoute {
  const source = route.path
    .split('/')
    .map((part) => (part.startsWith(':') ? `(?<${part.slice(1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}$`) };
}

type Match = { route: CompiledRoute; params: ReadonlyMap<string, string> } | { allowed: string[] } | undefined;

function match(routes: readonly CompiledRoute[], method: string, pathname: string): Match {
  const allowed: string[] = [];
  for (const route of routes) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params = new Map<string, string>();
    for (const [name, raw] of Object.entries(m.groups ?? {})) {
      try {
        params.set(name, decodeURIComponent(raw));
      } catch {
        throw invalidTarget(); // an escape of something that is not UTF-8
      }
    }
    return { route, params };
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

function invalidTarget(): ControlPlaneError {
  return new ControlPlaneError(
    400,
    'invalid_target',
    'The request target is not a path this server can read (a broken %-escape, or not /path?query); check the URL.',
  );
}

function payloadTooLarge(max: number): ControlPlaneError {
  return new ControlPlaneError(
    413,
    'payload_too_large',
    `The request body is over the server's limit of ${max} bytes; send less per request (e.g. smaller event batches).`,
  );
}

function bodyTimeout(ms: number): ControlPlaneError {
  return new ControlPlaneError(408, 'request_timeout', `The request body did not arrive within ${ms / 1000}s; send it again.`);
}

/** Bytes of request bodies held at once, by every request together. */
interface BodyBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

function bodyBudget(maxBytes: number): BodyBudget {
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

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const routes = options.routes.map(compile);
  const { log } = options;
  let closing = false;
  /** Each request's stop: aborted when its client goes or the server closes (one controller, no AbortSignal.any). */
  const stops = new Set<AbortController>();
  const inflight = new Set<Promise<void>>();
  const refusals = new RefusalThrottle({ ...options.refusals, log });
  const headersTimeoutMs = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const budget = bodyBudget(options.maxBufferedBodyBytes ?? 256 * 1024 * 1024);
  const maxRequestsPerPrincipal = options.maxRequestsPerPrincipal ?? DEFAULT_REQUESTS_PER_PRINCIPAL;
  /** Authenticated requests in flight per principal. */
  const principals = new Map<string, number>();

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const started = Date.now();
    const notes: string[] = [];
    const stop = new AbortController();
    stops.add(stop);
    let clientGone = false;
    const socket = req.socket as Socket;
    let principal: string | undefined;
    res.on('close', () => {
      stops.delete(stop);
      if (!res.writableFinished) {
        clientGone = true;
        stop.abort();
      }
      if (principal === undefined) return;
      connections.release(socket);
      const inflight = (principals.get(principal) ?? 1) - 1;
      if (inflight > 0) principals.set(principal, inflight);
      else principals.delete(principal);
    });
    res.setHeader('x-request-id', requestId);
    let reply: Reply;
    let quiet: readonly number[] = [];
    let closeConnection = false;
    let quietRefusal = false;
    const method = req.method ?? 'GET';
    const clientAddress = socket.remoteAddress ?? 'unknown';
    // Until the target is read, the log shows what came (escaped by the log), cut short.
    let shownPath = (req.url ?? '').slice(0, 200);
    try {
      if (closing) {
        throw new ControlPlaneError(503, 'server_closing', 'The control plane is shutting down; retry in a few seconds.');
      }
      const target = parseRequestTarget(req.url ?? '/');
      if (target === undefined) throw invalidTarget();
      shownPath = target.pathname;
      // HEAD is GET without a body (node leaves the body out), e.g. the runner's doctor probing the base URL.
      const found = match(routes, method === 'HEAD' ? 'GET' : method, target.pathname);
      if (found === undefined) {
        throw new ControlPlaneError(
          404,
          'not_found',
          `No route ${method} ${target.pathname}. Runner routes are under /api/runner, admin routes under /api/admin.`,
        );
      }
      if ('allowed' in found) {
        res.setHeader('allow', found.allowed.join(', '));
        throw new ControlPlaneError(405, 'method_not_allowed', `${target.pathname} takes ${found.allowed.join(' or ')}, not ${method}.`);
      }
      const { route } = found;
      quiet = route.quietStatuses ?? [];
      const ctx: RouteContext = {
        req,
        requestId,
        param(name) {
          const value = found.params.get(name);
          if (value === undefined) throw new Error(`the route ${route.method} ${route.path} has no parameter :${name}`);
          return value;
        },
        query: target.query,
        signal: stop.signal,
        clientAddress,
        async readJson() {
          const max = route.maxBodyBytes ?? SMALL_BODY_BYTES;
          let body: Buffer;
          try {
            // Refused before a byte of it is sent: a client that asked first (`expect: 100-continue`) is told 413
            // instead of "continue", and one that did not is not read.
            if (Number(req.headers['content-length']) > max) throw payloadTooLarge(max);
            // A client that asked first sends its body only now that the route wants it.
            if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
            body = await readBody(req, max, route.bodyTimeoutMs ?? BODY_TIMEOUT_MS, budget);
          } catch (err) {
            if (err instanceof ControlPlaneError) closeConnection = true;
            throw err;
          }
          if (body.length === 0) return undefined;
          try {
            return JSON.parse(body.toString('utf8')) as unknown;
          } catch (err) {
            throw invalidRequest(`The request body is not valid JSON (${(err as Error).message}); send a JSON object.`);
          }
        },
        note: (key, value) => notes.push(`${key}=${value}`),
        authenticated(who) {
          if (principal !== undefined || res.closed) return;
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
          principal = who;
          connections.trust(socket);
        },
        refusalsUsedUp: () => refusals.retryAfterSec(clientAddress) !== undefined,
        refuse(refusal) {
          const retryAfterSec = refusals.retryAfterSec(clientAddress);
          quietRefusal = !refusals.refused(clientAddress);
          if (retryAfterSec === undefined) return refusal;
          return new RetryLaterError(
            429,
            'too_many_refusals',
            `Too many requests with a wrong key or token from ${clientAddress}; wait ${retryAfterSec}s, then check the key or token.`,
            retryAfterSec,
          );
        },
      };
      reply = await route.handler(ctx);
    } catch (err) {
      reply = errorReply(err, requestId);
      if (reply.status >= 500) log(`${method} ${shownPath} failed, requestId=${requestId}: ${(err as Error).stack ?? String(err)}`);
    }
    // A body nobody read (a refused request, a route that takes none) is not read to keep the connection: close it.
    if (!req.complete) closeConnection = true;
    if (!clientGone && !res.destroyed) {
      if (reply.stream && method !== 'HEAD')
        await sendStream(res, reply, reply.stream, (err) =>
          log(`${method} ${shownPath} stream failed, requestId=${requestId}: ${err.stack ?? String(err)}`),
        );
      else await send(res, reply, closeConnection);
    }
    if (!quiet.includes(reply.status) && !quietRefusal) {
      log(
        `${method} ${shownPath} ${reply.status} ${Date.now() - started}ms requestId=${requestId} client=${clientAddress}` +
          notes.map((n) => ` ${n}`).join(''),
      );
    }
  }

  function serveRequest(req: IncomingMessage, res: ServerResponse): void {
    if (!connections.requestStarted(req.socket as Socket)) return;
    const requestId = randomUUID();
    const scope = { requestId, request: `${req.method} ${(req.url ?? '').slice(0, 200)}` };
    const task = requestScope.run(scope, () => handle(req, res, requestId)).finally(() => inflight.delete(task));
    inflight.add(task);
  }

  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: REQUEST_TIMEOUT_MS,
      // How often node looks for heads and requests past their time: often enough to shed a slowloris in time.
      connectionsCheckingInterval: 1000,
    },
    serveRequest,
  );
  // `expect: 100-continue` is served like any request: its route checks who asks before it lets the body come.
  server.on('checkContinue', serveRequest);
  const connections = guardConnections(server, {
    maxConnections: options.maxConnections ?? defaultMaxConnections(),
    headersTimeoutMs,
    log,
  });
  server.on('clientError', answerClientError);
  // After listen, the server's errors are accepts that failed (EMFILE when descriptors ran out): log, keep serving.
  let lastAcceptError = 0;
  const onServerError = (err: NodeJS.ErrnoException) => {
    if (Date.now() - lastAcceptError < 10_000) return;
    lastAcceptError = Date.now();
    log(`accepting a connection failed (${err.code ?? err.message}); still serving the connections it has`);
  };

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          server.on('error', onServerError);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    async close() {
      closing = true;
      for (const stop of stops) stop.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      server.closeAllConnections();
      await closed;
      refusals.close();
    },
  };
}

function errorReply(err: unknown, requestId: string): Reply {
  if (err instanceof ControlPlaneError) {
    const headers = err instanceof RetryLaterError ? { 'retry-after': String(err.retryAfterSec) } : undefined;
    return { status: err.status, body: { error: err.code, message: err.message, ...err.details, requestId }, headers };
  }
  return {
    status: 500,
    body: {
      error: 'internal_error',
      message:
        `Unexpected server error; retry, and if it persists give requestId ${requestId} ` +
        'to whoever runs the server (it is in the server log).',
      requestId,
    },
  };
}

/** What node:http found wrong with a request before any route saw it: status, error code, message. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large; send fewer or shorter headers.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request took too long to arrive; send it again.'],
};

/**
 * A request node:http cannot parse gets the same answer shape as every other error (JSON body, `x-request-id`),
 * instead of node's bare `400 Bad Request`. The connection is closed: what follows on it cannot be trusted.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [
    400,
    'bad_request',
    `The request is not valid HTTP (${err.code ?? err.message}); check the client.`,
  ];
  const body = JSON.stringify({ error: code, message, requestId });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nx-request-id: ${requestId}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * On every answer unless its route says otherwise: nothing may sniff a JSON answer into a page, and nothing may keep
 * a copy of one (event transcripts, prompts, the one answer that carries a new token) in a cache.
 */
const DEFAULT_HEADERS: Record<string, string> = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

function setHeaders(res: ServerResponse, reply: Reply): void {
  for (const [name, value] of Object.entries({ ...DEFAULT_HEADERS, ...reply.headers })) res.setHeader(name, value);
}

/** A JSON answer up to this size goes out whole, with a content-length; a larger one is written as it is serialized. */
const WHOLE_JSON_CHARS = 64 * 1024;

async function send(res: ServerResponse, reply: Reply, closeConnection: boolean): Promise<void> {
  // After a 413 the rest of the body is still on the wire: close instead of reading it to keep the connection.
  if (closeConnection) res.setHeader('connection', 'close');
  setHeaders(res, reply);
  if (reply.raw !== undefined) {
    res.writeHead(reply.status, { 'content-length': reply.raw.length }).end(reply.raw);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const pieces = jsonChunks(reply.body);
  let head = '';
  let next = pieces.next();
  for (; !next.done && head.length < WHOLE_JSON_CHARS; next = pieces.next()) head += next.value;
  const type = { 'content-type': 'application/json; charset=utf-8' };
  if (next.done) {
    res.writeHead(reply.status, { ...type, 'content-length': Buffer.byteLength(head) }).end(head);
    return;
  }
  res.writeHead(reply.status, type);
  const first = head + next.value;
  // Only the client's going stops it: an answer begun before the server started closing is written whole.
  const clientGone = new AbortController();
  const onClose = () => clientGone.abort();
  res.once('close', onClose);
  await writePieces(
    res,
    (function* () {
      yield first;
      yield* pieces;
    })(),
    clientGone.signal,
  );
  res.off('close', onClose);
  res.end();
}

async function sendStream(
  res: ServerResponse,
  reply: Reply,
  stream: NonNullable<Reply['stream']>,
  onError: (err: Error) => void,
): Promise<void> {
  setHeaders(res, reply);
  res.writeHead(reply.status);
  try {
    await stream(res);
  } catch (err) {
    // The head is sent: the only way left to say "failed" is to end the body; the client reconnects.
    onError(err as Error);
  }
  res.end();
}
