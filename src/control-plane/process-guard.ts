/**
 * The last wall: an error that escapes every handler (a callback that throws, a promise nobody awaits, an 'error'
 * event nobody listens to) is logged with the request it came from, and the process keeps serving. A server that
 * crashes is a bug to fix, never a policy: one tenant's odd request must not end every tenant's service.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  requestId: string;
  /** `GET /api/…`, for the log. */
  request: string;
}

/** The request being served, wherever its work goes (timers, promises, callbacks): set by the HTTP layer. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

/** Installs the guard on this process; returns its removal. Only the process's owner (the `server` command) calls it. */
export function guardProcess(log: (line: string) => void): () => void {
  const report = (what: string) => (error: unknown) => {
    const scope = requestScope.getStore();
    const where = scope ? `while serving ${scope.request}, requestId=${scope.requestId}` : 'outside any request';
    log(`${what} ${where} (the server keeps serving): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  };
  const onException = report('uncaught exception');
  const onRejection = report('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
