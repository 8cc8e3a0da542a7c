import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

/**
 * What the fake model APIs (fake-anthropic.ts, fake-openai.ts, fake-gemini.ts) share: an HTTP server on loopback whose replies each
 * test scripts, in order; the requests it answered and the routes it does not implement, recorded for assertions.
 */

/** A request to a fake API, as recorded: its path (with the query), headers and JSON body. */
export interface ApiRequest<Body> {
  path: string;
  headers: IncomingMessage['headers'];
  body: Body;
}

export interface ScriptedApi<Reply, Request> {
  url: string;
  /** Replaces the replies still queued. */
  script(replies: Reply[]): void;
  readonly requests: Request[];
  /** `METHOD path` of every request the fake does not implement. */
  readonly unknownRoutes: string[];
  /** Clears the recorded requests, the script and the reply counter. */
  reset(): void;
  close(): Promise<void>;
}

/** One request to a fake API, for its route handler. */
export interface Exchange<Reply, Request> {
  req: IncomingMessage;
  res: ServerResponse;
  /** The body, as text. */
  raw: string;
  /** The URL's path with its query; `route` is without. */
  path: string;
  route: string;
  requests: Request[];
  unknownRoutes: string[];
  /** The request with its body parsed as JSON. */
  parsed<Body>(): ApiRequest<Body>;
  /** Takes the next scripted reply, if any is left. */
  nextReply(): Reply | undefined;
  /** Counts the replies since the last reset: 1 for the first. */
  nextNumber(): number;
}

export interface FakeApiOptions<Reply, Request> {
  /** Answers a request of a route the fake implements, and says so (true); false lets it be logged as unknown. */
  handle(exchange: Exchange<Reply, Request>): boolean;
  /** The body of the 404 answer to a route the fake does not implement. */
  notFound(method: string | undefined, route: string): unknown;
  /** Clears what the fake records besides `requests` and `unknownRoutes`. */
  onReset?(): void;
}

export async function startScriptedApi<Reply, Request>(options: FakeApiOptions<Reply, Request>): Promise<ScriptedApi<Reply, Request>> {
  let queue: Reply[] = [];
  const requests: Request[] = [];
  const unknownRoutes: string[] = [];
  let counter = 0;

  const server = createServer((req, res) => {
    void text(req).then((raw) => {
      const path = req.url ?? '/';
      const route = path.replace(/\?.*/s, '');
      const exchange: Exchange<Reply, Request> = {
        req,
        res,
        raw,
        path,
        route,
        requests,
        unknownRoutes,
        parsed: <Body>() => ({ path, headers: req.headers, body: JSON.parse(raw) as Body }),
        nextReply: () => queue.shift(),
        nextNumber: () => ++counter,
      };
      if (options.handle(exchange)) return;
      unknownRoutes.push(`${req.method} ${path}`);
      json(res, 404, options.notFound(req.method, route));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    script: (replies) => {
      queue = [...replies];
    },
    requests,
    unknownRoutes,
    reset: () => {
      queue = [];
      counter = 0;
      requests.length = 0;
      unknownRoutes.length = 0;
      options.onReset?.();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Writes one server-sent event with no event name, its data the JSON of `data` (Gemini's and Chat Completions' streams). */
export function sseData(res: ServerResponse, data: unknown): void {
  res.write(`data: ${JSON.stringify(data)}\n\n`);
}

/** Writes one server-sent event: `event: <type>`, and as its data the JSON of `{ type, ...data }`. */
export function sseEvent(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}
