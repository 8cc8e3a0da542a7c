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
import { ControlPlaneError, RetryLaterError } from './errors.js';
import { jsonChunks, writePieces } from './json-writer.js';
import { requestScope } from './process-guard.js';
import { RefusalThrottle, type RefusalThrottleOptions } from './refusal-throttle.js';
import { bodyBudget, RequestContext, SERVER_CLOSING, type RouteContext, type ServerState } from './request-context.js';
import { parseRequestTarget } from './request-target.js';

export type { RouteContext } from './request-context.js';

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
  maxBodyBytes: number;
  bodyTimeoutMs: number;
}

function compile(route: Route): CompiledRoute {
  const source = route.path
    .split('/')
    .map((part) => (part.startsWith(':') ? `(?<${part.slice(1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return {
    ...route,
    pattern: new RegExp(`^${source}$`),
    maxBodyBytes: route.maxBodyBytes ?? SMALL_BODY_BYTES,
    bodyTimeoutMs: route.bodyTimeoutMs ?? BODY_TIMEOUT_MS,
  };
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

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const routes = options.routes.map(compile);
  const { log } = options;
  const inflight = new Set<Promise<void>>();
  const headersTimeoutMs = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  async function handle(ctx: RequestContext, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const { req, requestId, clientAddress } = ctx;
    res.on('close', () => ctx.ended());
    let reply: Reply;
    let quiet: readonly number[] = [];
    const method = req.method ?? 'GET';
    // Until the target is read, the log shows what came (escaped by the log), cut short.
    let shownPath = (req.url ?? '').slice(0, 200);
    try {
      if (state.closing) {
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
      ctx.routed(route, found.params, target.rawQuery);
      reply = await route.handler(ctx);
    } catch (err) {
      reply = errorReply(err, requestId);
      if (reply.status >= 500) log(`${method} ${shownPath} failed, requestId=${requestId}: ${(err as Error).stack ?? String(err)}`);
    }
    // A body nobody read (a refused request, a route that takes none) is not read to keep the connection: close it.
    if (!req.complete) ctx.closeConnection = true;
    if (!ctx.clientGone && !res.destroyed) {
      res.setHeader('x-request-id', requestId);
      if (reply.stream && method !== 'HEAD')
        await sendStream(res, reply, reply.stream, (err) =>
          log(`${method} ${shownPath} stream failed, requestId=${requestId}: ${err.stack ?? String(err)}`),
        );
      else await send(res, reply, ctx.closeConnection);
    }
    if (!quiet.includes(reply.status) && !ctx.quietRefusal) {
      log(
        `${method} ${shownPath} ${reply.status} ${Date.now() - started}ms requestId=${requestId} client=${clientAddress}${ctx.notesText}`,
      );
    }
  }

  function serveRequest(req: IncomingMessage, res: ServerResponse): void {
    if (!state.connections.requestStarted(req.socket as Socket)) return;
    const requestId = randomUUID();
    const ctx = new RequestContext(req, res, requestId, state);
    const scope = { requestId, request: `${req.method} ${(req.url ?? '').slice(0, 200)}` };
    const task = requestScope.run(scope, () => handle(ctx, res)).finally(() => inflight.delete(task));
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
  const state: ServerState = {
    closing: false,
    stops: new Set(),
    budget: bodyBudget(options.maxBufferedBodyBytes ?? 256 * 1024 * 1024),
    refusals: new RefusalThrottle({ ...options.refusals, log }),
    connections: guardConnections(server, {
      maxConnections: options.maxConnections ?? defaultMaxConnections(),
      headersTimeoutMs,
      log,
    }),
    principals: new Map(),
    maxRequestsPerPrincipal: options.maxRequestsPerPrincipal ?? DEFAULT_REQUESTS_PER_PRINCIPAL,
  };
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
      state.closing = true;
      for (const stop of state.stops) stop.abort(SERVER_CLOSING);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      server.closeAllConnections();
      await closed;
      state.refusals.close();
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
