import { catchError, concatMap, defer, of, tap, throwError, type Observable, type SchedulerLike } from 'rxjs';
import { retryBackoff, type RetryBackoffOptions, type RetryInfo } from '../operators/retryBackoff.js';
import type { CompletionBody } from '../protocol/types.js';
import { TokenRejectedError, type AppendOutcome, type CompleteOutcome, type RunnerApi } from '../streams/http.js';
import type { JobSpool } from '../streams/spool.js';
import { errorText } from './agent-run.js';
import type { Logger } from './logger.js';
import type { RunnerMetrics } from './metrics.js';

export interface DeliveryDeps {
  api: RunnerApi;
  log: Logger;
  metrics?: RunnerMetrics;
  retry: Pick<RetryBackoffOptions, 'initialDelayMs' | 'maxDelayMs' | 'random'>;
  scheduler: SchedulerLike;
}

/** `refused`: the server answered with an error that no retry will change (a 4xx); the batch was skipped. */
export type BatchOutcome = AppendOutcome | { kind: 'refused' };

/**
 * Sends spooled batch `index` until the server answers (network errors and 5xx are retried with backoff, for
 * as long as it takes), and records its acceptance in the spool.
 */
export function deliverBatch(deps: DeliveryDeps, spool: JobSpool, index: number): Observable<BatchOutcome> {
  const { log } = deps;
  const logBatchRetry = logRetry(log, 'events batch', spool.jobId);
  const onRetry = (info: RetryInfo) => {
    if (deps.metrics) deps.metrics.batchesRetried++;
    logBatchRetry(info);
  };
  // Read once, outside the retry: a failing disk is not a network blip.
  return defer(() => of(spool.readBatch(index))).pipe(
    concatMap((body) => deps.api.appendEvents(spool.jobId, body).pipe(retryBackoff({ ...deps.retry, scheduler: deps.scheduler, onRetry }))),
    tap((outcome) => {
      if (outcome.kind === 'ok') spool.ack(index);
    }),
    catchError((error: unknown): Observable<BatchOutcome> => {
      if (error instanceof TokenRejectedError) return throwError(() => error);
      log.error('server refused an events batch; skipping it', { jobId: spool.jobId, batch: index, error: errorText(error) });
      spool.ack(index);
      return of({ kind: 'refused' });
    }),
  );
}

/**
 * Records the completion in the spool, sends it until the server answers, then removes the spool: from here
 * on the server knows everything the runner knew.
 */
export function deliverCompletion(deps: DeliveryDeps, spool: JobSpool, body: CompletionBody): Observable<CompleteOutcome | { kind: 'refused' }> {
  const { log, api } = deps;
  const { jobId } = spool;
  return defer(() => {
    spool.recordCompletion(body);
    return api.complete(jobId, body).pipe(retryBackoff({ ...deps.retry, scheduler: deps.scheduler, onRetry: logRetry(log, 'completion', jobId) }));
  }).pipe(
    tap((outcome) => {
      if (outcome.kind === 'already_terminal') log.info('job was already terminal on the server', { jobId });
      if (outcome.kind === 'gone') log.warn('server no longer knows this job; completion not recorded', { jobId });
    }),
    catchError((error: unknown): Observable<{ kind: 'refused' }> => {
      if (error instanceof TokenRejectedError) return throwError(() => error);
      log.error('server refused the completion', { jobId, error: errorText(error) });
      return of({ kind: 'refused' });
    }),
    tap(() => spool.remove()),
  );
}

export function logRetry(log: Logger, what: string, jobId: string) {
  return ({ error, attempt, delayMs }: RetryInfo) =>
    log.warn(`${what} failed; retrying`, { jobId, attempt, inMs: delayMs, error: errorText(error) });
}
