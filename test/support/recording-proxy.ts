import {
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  /** 0: the connection was cut; -1: the test took the response over. */
  status: number;
  /** For POST …/events: how many events the batch carried. */
  events?: number;
}

/**
 * Decides what to do with one request before it reaches the server: pass it (after `delayMs`), answer
 * instead, rewrite the answer (and send the server another path or body: `forwardAs`), cut the connection before the server sees the request (`drop`), or let the
 * server handle it and cut the connection before the answer (`dropAnswer`: the runner must retry something
 * the server already did), or take the response over (`takeOver`: a hostile server that streams without end or
 * never answers; with `forwardFirst`, after the server handled the request; the proxy's `close` ends what it left open).
 */
export type Interceptor = (request: {
  method: string;
  path: string;
  body: string;
  /** The `Prefer` header the runner sent, if any. */
  prefer?: string;
}) =>
  | { respond: { status: number; body?: string | Buffer; headers?: OutgoingHttpHeaders } }
  | { takeOver: (response: ServerResponse) => void; forwardFirst?: boolean }
  | { rewrite: (status: number, body: string) => { status: number; body: string }; forwardAs?: { path: string; body: string } }
  | { drop: true }
  | { dropAnswer: true }
  | { delayMs: number }
  | undefined;

/**
 * A real HTTP proxy between the runner and the control plane that records every request and lets a
 * test answer or rewrite chosen ones: how batch sizes are observed and how faults are injected.
 */
export async function startRecordingProxy(target: string, intercept: Interceptor = () => undefined) {
  const upstream = new URL(target);
  const recorded: RecordedRequest[] = [];
  const forwards = new Set<ClientRequest>();
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record = (status: number) =>
      recorded.push({ method, path, status, ...(path.endsWith('/events') && method === 'POST' && { events: countEvents(body) }) });
    const prefer = req.headers.prefer;
    const decision = intercept({ method, path, body, ...(typeof prefer === 'string' && { prefer }) });
    if (decision && 'drop' in decision) {
      record(0);
      req.socket.destroy();
      return;
    }
    if (decision && 'delayMs' in decision) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    if (decision && 'respond' in decision) {
      record(decision.respond.status);
      res
        .writeHead(decision.respond.status, { 'content-type': 'application/json', ...decision.respond.headers })
        .end(decision.respond.body ?? '');
      return;
    }
    if (decision && 'takeOver' in decision && !decision.forwardFirst) {
      record(-1);
      decision.takeOver(res);
      return;
    }
    const sent = decision && 'rewrite' in decision && decision.forwardAs ? decision.forwardAs : { path, body };
    const requestHeaders = { ...req.headers, host: upstream.host, 'content-length': String(Buffer.byteLength(sent.body)) };
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method, path: sent.path, headers: requestHeaders },
      async (answer) => {
        let status = answer.statusCode ?? 502;
        let text = await readBody(answer);
        if (decision && 'rewrite' in decision) ({ status, body: text } = decision.rewrite(status, text));
        if (decision && 'takeOver' in decision) {
          record(-1);
          decision.takeOver(res);
          return;
        }
        record(decision && 'dropAnswer' in decision ? 0 : status);
        if (decision && 'dropAnswer' in decision) {
          req.socket.destroy();
          return;
        }
        const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) };
        delete headers['transfer-encoding'];
        res.writeHead(status, headers).end(text);
      },
    );
    forwards.add(forward);
    forward.on('close', () => forwards.delete(forward));
    forward.on('error', () => res.destroy());
    req.on('close', () => {
      if (!res.writableEnded) forward.destroy();
    });
    forward.end(sent.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    recorded,
    close: () =>
      new Promise<void>((resolve) => {
        // What it still forwards goes too: a long-poll left waiting on the server would be handed the next job.
        for (const forward of forwards) forward.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function countEvents(body: string): number | undefined {
  try {
    return (JSON.parse(body) as { events: unknown[] }).events.length;
  } catch {
    return undefined;
  }
}
