import { catchError, defer, map, of, tap, throwError, type Observable, type SchedulerLike } from 'rxjs';
import { isTransientError } from '../operators/isTransientError.js';
import { retryBackoff, type RetryBackoffOptions, type RetryInfo } from '../operators/retryBackoff.js';
import { repairStorable } from '../protocol/storable-json.js';
import type { CompletionBody } from '../protocol/types.js';
import { ApiError, TokenRejectedError, type AppendOutcome, type RunnerApi } from '../streams/http.js';
import type { JobSpool, SetAsideBatch } from '../streams/spool.js';
import { errorText } from './agent-run.js';
import { countEvents } from './spool-events.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface DeliveryDeps {
  api: RunnerApi;
  log: Logger;
  metrics?: Metrics;
  retry: Pick<RetryBackoffOptions, 'initialDelayMs' | 'maxDelayMs' | 'random'>;
  scheduler: SchedulerLike;
}

/** `set_aside`: the server will never take this batch; it was recorded in the spool and later batches go on. */
export type BatchOutcome = AppendOutcome | { kind: 'set_aside'; batch: SetAsideBatch };

/**
 * How many answers in a row with the same 5xx status set a batch aside. The fault-injection suite answers 500, 502 or
 * 503 to a third of the writes: counting only 500 there (502 and 503 are never counted), a batch meets 8 of them in a
 * row before a success once in 7^8 ≈ 5.8 million batches; a server that fails one batch for what it holds does so at
 * every try, and is given up on after about a minute of backoff.
 */
export const MAX_SAME_5XX_ANSWERS = 8;

/**
 * Answers that mean "not now" rather than "not this": retried for as long as it takes, like a network error, while the
 * server may be down (an outage or a restart must only make the runner wait). One counts toward setting the batch aside
 * only when the server answered another request with a 2xx since this batch's previous failure (a heartbeat, another
 * job's batch): the server is up, and a gateway in front of it fails this batch for what it holds.
 */
const UNAVAILABLE_STATUSES = new Set([408, 425, 429, 502, 503, 504]);

/** Error messages of completions stay this short, whatever the agent printed. */
export const MAX_ERROR_MESSAGE_CHARS = 2000;

/**
 * Sends spooled batch `index` until the server answers, and records the answer in the spool. Network errors and
 * "unavailable" answers (502, 503, 504, 408, 425, 429) are retried with backoff for as long as the server may be down. A 4xx other
 * than 401 (token rejected: thrown), 403/404 (gone) and 409 (terminal) is final, and a 5xx that comes back
 * {@link MAX_SAME_5XX_ANSWERS} times in a row is taken as final too: either way the batch is set aside (recorded, so
 * that no recovery sends it again) and logged, so that later lines flow and the completion can say what was lost.
 */
export function deliverBatch(deps: DeliveryDeps, spool: JobSpool, index: number): Observable<BatchOutcome> {
  const { log, api } = deps;
  const { jobId } = spool;
  const logBatchRetry = logRetry(log, 'events batch', jobId);
  const onRetry = (info: RetryInfo) => {
    deps.metrics?.batchRetried();
    logBatchRetry(info);
  };
  return defer(() => {
    let body: string;
    // Read once, outside the retry: a failing disk is not a network blip.
    try {
      body = spool.readBatch(index);
    } catch (error) {
      return of(setAside(error, 0, 'unreadable'));
    }
    return api.appendEvents(jobId, body).pipe(
      retryBackoff({ ...deps.retry, scheduler: deps.scheduler, onRetry, shouldRetry: retryPolicy(api) }),
      tap((outcome) => {
        if (outcome.kind === 'ok') spool.ack(index);
      }),
      catchError((error: unknown): Observable<BatchOutcome> => {
        if (error instanceof TokenRejectedError) return throwError(() => error);
        const failing = error instanceof ApiError && error.status >= 500;
        return of(setAside(error, countEvents(body), failing ? 'failing' : 'refused'));
      }),
    );
  });

  function setAside(error: unknown, events: number, why: SetAsideBatch['why']): BatchOutcome {
    const answer = error instanceof ApiError ? { status: error.status, code: error.code, requestId: error.requestId } : {};
    const batch: SetAsideBatch = { index, events, why, ...withoutUndefined(answer) };
    spool.setAside(batch);
    log.error(
      `${why === 'unreadable' ? 'could not read an events batch from the spool' : why === 'refused' ? 'the server refused an events batch' : `the server failed an events batch ${MAX_SAME_5XX_ANSWERS} times in a row`}; ` +
        'it is set aside so that later lines flow, and the job will be reported as incomplete',
      { jobId, batch: index, events, ...withoutUndefined(answer), error: errorText(error) },
    );
    return { kind: 'set_aside', batch };
  }
}

/** Which failures of one batch are worth another try (see {@link deliverBatch}); each batch counts its own. */
function retryPolicy(api: RunnerApi): (error: unknown) => boolean {
  let lastStatus: number | undefined;
  let streak = 0;
  let successesBefore = api.successfulAnswers?.();
  return (error) => {
    if (!(error instanceof ApiError)) return isTransientError(error);
    if (error instanceof TokenRejectedError) return false;
    if (UNAVAILABLE_STATUSES.has(error.status)) {
      const successes = api.successfulAnswers?.();
      const serverIsUp = successes !== undefined && successesBefore !== undefined && successes > successesBefore;
      successesBefore = successes;
      if (!serverIsUp) return true;
    }
    if (error.status < 500) return false;
    streak = error.status === lastStatus ? streak + 1 : 1;
    lastStatus = error.status;
    return streak < MAX_SAME_5XX_ANSWERS;
  };
}

/**
 * Records the completion in the spool, sends it (made honest about what the server does not have: see
 * {@link completionToSend}) until the server answers, then removes the spool: from here on the server knows everything
 * the runner knew. Emits the completion as sent.
 */
export function deliverCompletion(deps: DeliveryDeps, spool: JobSpool, completion: CompletionBody): Observable<CompletionBody> {
  const { log, api } = deps;
  const { jobId } = spool;
  return defer(() => {
    // The agent's verdict is what is recorded: a recovery recomputes the rest from the spool's set-aside batches.
    spool.recordCompletion(completion);
    const body = completionToSend(completion, spool.setAsideBatches);
    return api.complete(jobId, body).pipe(
      retryBackoff({ ...deps.retry, scheduler: deps.scheduler, onRetry: logRetry(log, 'completion', jobId) }),
      tap((outcome) => {
        if (outcome.kind === 'already_terminal') log.info('job was already terminal on the server', { jobId });
        if (outcome.kind === 'gone') log.warn('server no longer knows this job; completion not recorded', { jobId });
      }),
      catchError((error: unknown) => {
        if (error instanceof TokenRejectedError) return throwError(() => error);
        log.error('server refused the completion', { jobId, error: errorText(error) });
        return of(undefined);
      }),
      map(() => body),
    );
  }).pipe(tap(() => spool.remove()));
}

/**
 * The completion as it is sent. A job whose output the server does not all have is not a clean `completed`: it becomes
 * `failed`, with an error message that says how many events in how many batches were not accepted and why (status,
 * error code, requestId); a job that failed or was cancelled anyway keeps its status, the loss leading its message.
 * The message is cut to {@link MAX_ERROR_MESSAGE_CHARS}, and every string (the agent's session id and error text
 * included) made storable: a completion the server cannot store would be retried for ever.
 */
export function completionToSend(completion: CompletionBody, setAside: readonly SetAsideBatch[]): CompletionBody {
  // A batch whose body could not be parsed held no event the server could have had; its lines are read again.
  const lost = setAside.filter((batch) => batch.events > 0);
  let { status, errorMessage } = completion;
  if (lost.length) {
    const note = lossNote(lost);
    if (status === 'completed') {
      status = 'failed';
      errorMessage = `the agent finished (exit ${completion.exitCode}), but ${note}`;
    } else {
      errorMessage = `${note}. The run itself: ${errorMessage ?? status}`;
    }
  }
  return repairStorable({ ...completion, status, errorMessage: errorMessage?.slice(0, MAX_ERROR_MESSAGE_CHARS) ?? null });
}

function lossNote(lost: readonly SetAsideBatch[]): string {
  const events = lost.reduce((sum, batch) => sum + batch.events, 0);
  const reasons = new Map<string, SetAsideBatch>();
  for (const batch of lost) {
    const reason = [
      batch.status ?? (batch.why === 'unreadable' ? 'unreadable in the spool' : 'no answer'),
      batch.code,
      batch.why === 'failing' ? `${MAX_SAME_5XX_ANSWERS} times in a row` : undefined,
    ]
      .filter(Boolean)
      .join(' ');
    if (!reasons.has(reason)) reasons.set(reason, batch);
  }
  const why = [...reasons].map(([reason, batch]) => (batch.requestId ? `${reason}, requestId ${batch.requestId}` : reason)).join('; ');
  return `${events} event${events === 1 ? '' : 's'} in ${lost.length} batch${lost.length === 1 ? '' : 'es'} ${events === 1 ? 'was' : 'were'} not accepted by the server (${why}); the transcript is incomplete`;
}

export function logRetry(log: Logger, what: string, jobId: string) {
  return ({ error, attempt, delayMs }: RetryInfo) =>
    log.warn(`${what} failed; retrying`, { jobId, attempt, inMs: delayMs, error: errorText(error) });
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}
