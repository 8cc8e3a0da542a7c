import { Observable, type SchedulerLike } from 'rxjs';
import { is } from 'valibot';
import { RequestIdSchema } from '../../protocol/schemas.js';
import { RUNNER_API_PREFIX } from '../../protocol/types.js';
import { RedirectRefusedError } from './errors.js';
import type { ServerHealth } from './server-health.js';

/**
 * How much of an answer the runner reads before it stops reading, so that a server answering gigabytes cannot grow
 * its memory: a claim's payload holds the prompt and instructions (whole files pasted in), above the 10 MB the cloud
 * takes in any request; every other answer is a few hundred bytes of JSON.
 */
export const ANSWER_LIMITS = { claim: 16 * 1024 * 1024, other: 64 * 1024 } as const;

/** One request of the runner API. */
export interface Exchange {
  method: 'GET' | 'POST';
  /** Under the runner API: `jobs/next`, `jobs/<id>/events`. */
  path: string;
  /** A POST's JSON body, serialized: sent as it is. */
  body?: string;
  /** How much of a 2xx body is read; any other answer's, {@link ANSWER_LIMITS.other}. */
  limitBytes: number;
  /** A `Prefer` header to send (Part 2: the long-poll's `wait=<seconds>`). */
  prefer?: string;
}

/** An answer as read. */
export interface Reply {
  status: number;
  /** The x-request-id header, when it is one. */
  requestId: string | undefined;
  retryAfter: string | null;
  /** The `Preference-Applied` header: what the server did of a `Prefer`. */
  preferenceApplied: string | null;
  text: string;
  /** False when the body ran past the limit and was cut there. */
  complete: boolean;
}

export interface TransportOptions {
  serverUrl: string;
  token: string;
  userAgent: string;
  /** Told of every answer. */
  health: ServerHealth;
  /** Where answers are timed (the health's clock). */
  scheduler: SchedulerLike;
}

/** Sends one exchange per subscription, aborted on unsubscribe; emits the answer once its body is read. */
export type Transport = (exchange: Exchange) => Observable<Reply>;

/**
 * The runner API over fetch, for every route. Redirects are refused (3xx → {@link RedirectRefusedError}), every body is
 * read (an unread one keeps its connection busy) up to its limit, and nothing is retried here: retries are the
 * pipeline's, where they are visible and run on the scheduler.
 */
export function createTransport(options: TransportOptions): Transport {
  const apiBase = runnerApiUrl(options.serverUrl, '');
  const headers = { authorization: `Bearer ${options.token}`, 'user-agent': options.userAgent };
  const jsonHeaders = { ...headers, 'content-type': 'application/json' };
  const { health, scheduler } = options;

  return (exchange) =>
    new Observable<Reply>((subscriber) => {
      const abort = new AbortController();
      let settled = false;
      const init: RequestInit =
        exchange.body === undefined
          ? { method: exchange.method, headers: exchange.prefer === undefined ? headers : { ...headers, prefer: exchange.prefer } }
          : { method: exchange.method, headers: jsonHeaders, body: exchange.body };
      // Node's fetch hands back a 3xx itself, Location included, instead of following it.
      fetch(`${apiBase}${exchange.path}`, { ...init, redirect: 'manual', signal: abort.signal })
        .then(async (response): Promise<Reply> => {
          health.answered(response.status, scheduler.now());
          const requestId = requestIdOf(response.headers.get('x-request-id'));
          const accepted = response.status >= 200 && response.status < 300;
          const { text, complete } = await readLimited(response, accepted ? exchange.limitBytes : ANSWER_LIMITS.other);
          if (response.status >= 300 && response.status < 400) {
            const route = `${exchange.method} ${exchange.path}`;
            throw new RedirectRefusedError(route, response.status, response.headers.get('location') ?? undefined, requestId);
          }
          return {
            status: response.status,
            requestId,
            retryAfter: response.headers.get('retry-after'),
            preferenceApplied: response.headers.get('preference-applied'),
            text,
            complete,
          };
        })
        .then(
          (reply) => {
            settled = true;
            subscriber.next(reply);
            subscriber.complete();
          },
          (error: unknown) => {
            settled = true;
            subscriber.error(error);
          },
        );
      // Aborting a finished request would only cost an exception object per batch.
      return () => {
        if (!settled) abort.abort();
      };
    });
}

/** The URL of `path` under the runner API of the server at `serverUrl`. */
export function runnerApiUrl(serverUrl: string, path: string): string {
  return `${new URL(RUNNER_API_PREFIX.slice(1), ensureTrailingSlash(serverUrl))}/${path}`;
}

/**
 * Reads at most `limitBytes` of the body, then cancels the rest, so that an answer of any size costs at most that much
 * memory. UTF-8 is decoded once, at the end, so that characters split across chunks survive.
 */
async function readLimited(response: Response, limitBytes: number): Promise<{ text: string; complete: boolean }> {
  if (!response.body) return { text: '', complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks, size).toString('utf8'), complete: true };
    const room = limitBytes - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks, limitBytes).toString('utf8'), complete: false };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

/** The x-request-id header when it is one (printable, short); anything else is not worth a log line. */
function requestIdOf(header: string | null): string | undefined {
  return header !== null && is(RequestIdSchema, header) ? header : undefined;
}

function ensureTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
