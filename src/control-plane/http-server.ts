/**
 * The HTTP layer on `node:http`: routing, request ids, bounded JSON bodies, JSON error bodies, access logs,
 * client-disconnect and shutdown signals for long-polls, and a close that drains what is in flight.
 * Handlers return a `Reply` (or throw a `ControlPlaneError`) and never touch the response themselves, so every
 * answer gets the same headers and error shape.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ControlPlaneError, invalidRequest, RetryLaterError } from './errors.js';

export interface RouteContext {
  req: IncomingMessage;
  requestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the client disconnects or the server closes: stop waiting. */
  signal: AbortSignal;
  /** The body parsed as JSON; undefined when empty. 413 past the size limit, 400 when not JSON. */
  readJson(): Promise<unknown>;
  /** Adds `key=value` to this request's log line (e.g. a token preview; never a secret). */
  note(key: string, value: string): void;
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
}

export interface HttpServerOptions {
  routes: readonly Route[];
  maxBodyBytes: number;
  log: (line: string) => void;
}

export interface HttpServer {
  listen(host: string, port: number): Promise<string>;
  /** Ends waiting requests, answers new ones 503 meanwhile, waits for in-flight ones, closes every connection. */
  close(): Promise<void>;
  readonly server: Server;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((part) => (part.startsWith(':') ? (names.push(part.slice(1)), '([^/]+)') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}$`), names };
}

type Match = { route: CompiledRoute; params: Record<string, string> } | { allowed: string[] } | undefined;

function match(routes: readonly CompiledRoute[], method: string, pathname: string): Match {
  const allowed: string[] = [];
  for (const route of routes) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1]!);
    });
    return { route, params };
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

function payloadTooLarge(max: number): ControlPlaneError {
  return new ControlPlaneError(
    413,
    'payload_too_large',
    `The request body is over the server's limit of ${max} bytes; send less per request (e.g. smaller event batches).`,
  );
}

/** Reads at most `max` bytes; past that it stops reading (the connection is closed after the 413). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(payloadTooLarge(max));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        req.pause();
        reject(payloadTooLarge(max));
        return;
      }
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
  const { log, maxBodyBytes } = options;
  const closing = new AbortController();
  const inflight = new Set<Promise<void>>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = Date.now();
    const notes: string[] = [];
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    res.setHeader('x-request-id', requestId);
    let reply: Reply;
    let quiet: readonly number[] = [];
    let closeConnection = false;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://control-plane.invalid');
    try {
      if (closing.signal.aborted) {
        throw new ControlPlaneError(503, 'server_closing', 'The control plane is shutting down; retry in a few seconds.');
      }
      let found: Match;
      try {
        // HEAD is GET without a body (node leaves the body out), e.g. the runner's doctor probing the base URL.
        found = match(routes, method === 'HEAD' ? 'GET' : method, url.pathname);
      } catch {
        found = undefined; // a malformed %-escape in the path matches nothing
      }
      if (found === undefined) {
        throw new ControlPlaneError(
          404,
          'not_found',
          `No route ${method} ${url.pathname}. Runner routes are under /api/runner, admin routes under /api/admin.`,
        );
      }
      if ('allowed' in found) {
        res.setHeader('allow', found.allowed.join(', '));
        throw new ControlPlaneError(405, 'method_not_allowed', `${url.pathname} takes ${found.allowed.join(' or ')}, not ${method}.`);
      }
      quiet = found.route.quietStatuses ?? [];
      const ctx: RouteContext = {
        req,
        requestId,
        params: found.params,
        query: url.searchParams,
        signal: AbortSignal.any([clientGone.signal, closing.signal]),
        async readJson() {
          let body: Buffer;
          try {
            body = await readBody(req, maxBodyBytes);
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
      };
      reply = await found.route.handler(ctx);
    } catch (err) {
      reply = errorReply(err, requestId);
      if (reply.status >= 500) log(`${method} ${url.pathname} failed, requestId=${requestId}: ${(err as Error).stack ?? String(err)}`);
    }
    if (!clientGone.signal.aborted && !res.destroyed) {
      if (reply.stream && method !== 'HEAD')
        await sendStream(res, reply, reply.stream, (err) =>
          log(`${method} ${url.pathname} stream failed, requestId=${requestId}: ${err.stack ?? String(err)}`),
        );
      else send(res, reply, closeConnection);
    }
    if (!quiet.includes(reply.status)) {
      log(
        `${method} ${url.pathname} ${reply.status} ${Date.now() - started}ms requestId=${requestId}${notes.map((n) => ` ${n}`).join('')}`,
      );
    }
  }

  const server = createServer((req, res) => {
    const task = handle(req, res).finally(() => inflight.delete(task));
    inflight.add(task);
  });
  server.on('clientError', answerClientError);

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      server.closeAllConnections();
      await closed;
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

function send(res: ServerResponse, reply: Reply, closeConnection: boolean): void {
  // After a 413 the rest of the body is still on the wire: close instead of reading it to keep the connection.
  if (closeConnection) res.setHeader('connection', 'close');
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.raw !== undefined) {
    res.writeHead(reply.status, { 'content-length': reply.raw.length }).end(reply.raw);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function sendStream(
  res: ServerResponse,
  reply: Reply,
  stream: NonNullable<Reply['stream']>,
  onError: (err: Error) => void,
): Promise<void> {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.writeHead(reply.status);
  try {
    await stream(res);
  } catch (err) {
    // The head is sent: the only way left to say "failed" is to end the body; the client reconnects.
    onError(err as Error);
  }
  res.end();
}
