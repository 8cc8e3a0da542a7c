/**
 * The dashboard's calls to its server: the admin API with the session cookie (same origin, so the browser
 * sends it and the server's origin check passes). A 401 anywhere means the session ended: the app shows the
 * login form again. Errors carry the server's own message, which says what was wrong and what to do.
 */
import { reportAnswer, reportNoAnswer } from './connection.js';

export const LOGGED_OUT_EVENT = 'fos-logged-out';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    void reportNoAnswer();
    throw new ApiError(0, 'The server did not answer; check that it is running, then try again.');
  }
  // A proxy's 502–504 means the server behind it did not answer.
  if (res.status >= 502 && res.status <= 504) void reportNoAnswer();
  else reportAnswer();
  if (res.status === 401 && !path.startsWith('/ui/')) window.dispatchEvent(new Event(LOGGED_OUT_EVENT));
  if (!res.ok) {
    const error = (await res.json().catch(() => ({}))) as { message?: string };
    throw new ApiError(res.status, error.message ?? `The server answered ${res.status}; try again.`);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** An EventSource that reports a closed stream caused by an ended session (401) as a logout. */
export function openStream(path: string, handlers: Record<string, (data: unknown, event: MessageEvent) => void>): EventSource {
  const source = new EventSource(path);
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => handle(JSON.parse((event as MessageEvent<string>).data), event as MessageEvent));
  }
  source.addEventListener('open', reportAnswer);
  source.addEventListener('error', () => {
    void reportNoAnswer();
    // A refused stream is not retried by the browser, and its status is not shown: ask whether the session ended.
    if (source.readyState !== EventSource.CLOSED) return;
    api<{ authenticated: boolean }>('GET', '/ui/session').then(
      (session) => session.authenticated || window.dispatchEvent(new Event(LOGGED_OUT_EVENT)),
      () => {},
    );
  });
  return source;
}
