import { concatMap, defer, from, map, of, takeWhile, tap, type Observable, type SchedulerLike } from 'rxjs';
import { isTransientError } from '../operators/isTransientError.js';
import { recoverUnless } from '../operators/recoverUnless.js';
import { retryBackoff, type RetryBackoffOptions, type RetryInfo } from '../operators/retryBackoff.js';
import { repairStorable } from '../protocol/storable-json.js';
import { MAX_EVENTS_PER_BATCH, type CompletionBody } from '../protocol/types.js';
import { ApiError } from '../streams/http/errors.js';
import type { AppendOutcome, RunnerApi } from '../streams/http/runner-api.js';
import type { ServerHealth } from '../streams/http/server-health.js';
import type { JobSpool, SetAsideBatch } from '../streams/spool.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import { joinBodies, type SpooledBatch } from './spool-events.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface DeliveryDeps {
  api: RunnerApi;
  /**
   * What the server's answers to every request say: with it, a batch that keeps getting 502 while the server accepts
   * other requests is given up on; without it, every such answer counts as an outage.
   */
  health?: ServerHealth;
  log: Logger;
  metrics?: Metrics;
  retry: Pick<RetryBackoffOptions, 'initialDelayMs' | 'maxDelayMs' | 'random'>;
  scheduler: SchedulerLike;
}

/** `set_aside`: the server will never take this batch; it was recorded in the spool and later batches go on. */
export type BatchOutcome = AppendOutcome | { kind: 'set_aside'; batch: SetAsideBatch };

/** What one request did: the server's answer, and how many events it accepted with it. */
export interface Delivery {
  outcome: BatchOutcome;
  accepted: number;
}

/**
 * Whether the server's answer ended the job on its side (409: it is over; 403/404: it is no longer this runner's): the
 * job takes no more events, and its agent is to be stopped.
 */
export function endsJob({ outcome }: Delivery): boolean {
  return outcome.kind === 'job_ended' || outcome.kind === 'job_gone';
}

/**
 * The most bytes of a request that joins several spooled batches. Past a few hundred kB, what a request costs is
 * the bytes, not the request, so bigger joins would save nothing; a smaller request is quicker to retry and keeps
 * each try short, which lets a dead connection be noticed soon. A batch bigger than this (up to the 3 MiB a body may
 * take) still goes, alone.
 */
export const MAX_JOINED_BODY_BYTES = 1024 * 1024;

/** Whether spooled batch `next` may go in one request with `group`: within the protocol's 256 events and the byte budget. */
export function joinsRequest(group: readonly SpooledBatch[], next: SpooledBatch): boolean {
  let events = next.size;
  let bytes = next.bytes;
  for (const batch of group) {
    events += batch.size;
    bytes += batch.bytes;
  }
  return events <= MAX_EVENTS_PER_BATCH && bytes <= MAX_JOINED_BODY_BYTES;
}

/**
 * How many answers in a row with the same retry-later status set a batch aside: a server that fails one batch for what
 * it holds does so at every try, and is given up on after about a minute of backoff.
 */
export const MAX_SAME_5XX_ANSWERS = 8;

/**
 * Answers that mean "not now" rather than "not this": retried for as long as it takes, like a network error, while the
 * server may be down (an outage or a restart must only make the runner wait). One counts toward setting the batch aside
 * only when the server accepted another request since this batch's previous failure (a heartbeat, another job's batch):
 * the server is up, and a gateway in front of it fails this batch for what it holds.
 */
const UNAVAILABLE_STATUSES = new Set([408, 425, 429, 502, 503, 504]);

/** How the log says why a batch was set aside. */
const SET_ASIDE_BECAUSE: Record<SetAsideBatch['why'], string> = {
  unreadable: 'could not read an events batch from the spool',
  refused: 'the server refused an events batch',
  failing: `the server failed an events batch ${MAX_SAME_5XX_ANSWERS} times in a row`,
};

/** Error messages of completions stay this short, whatever the agent printed. */
export const MAX_ERROR_MESSAGE_CHARS = 2000;

/**
 * Sends spooled batches as one request (see {@link joinsRequest}), in the same way as {@link deliverBatch} sends one,
 * and acknowledges them all in the spool at once when the server accepts it. A final refusal of the joined request (a
 * 4xx, or the same 5xx again and again: one batch's content may be what the server fails on) sends the batches one by
 * one instead, so that a bad batch is set aside alone and costs the others nothing. Emits one {@link Delivery} per
 * request answered; stops after an answer that the job is over.
 */
export function deliverBatches(deps: DeliveryDeps, spool: JobSpool, group: readonly SpooledBatch[]): Observable<Delivery> {
  const [only] = group;
  if (group.length === 1 && only !== undefined) return deliverBatch(deps, spool, only);
  const oneByOne = () =>
    from(group).pipe(
      concatMap((batch) => deliverBatch(deps, spool, batch)),
      takeWhile((delivery) => !endsJob(delivery), true),
    );
  return defer(() => {
    let body: string | undefined;
    try {
      body = joinBodies(group.map(({ index }) => spool.readBatch(index)));
    } catch {
      // Each is read again alone, and the one the disk cannot give is set aside alone.
    }
    if (body === undefined) return oneByOne();
    return sendSpooled(deps, spool, group, body).pipe(
      recoverUnless(isFatal, (error): Observable<Delivery> => {
        deps.log.warn('the server did not take a request of several batches; sending them one by one', {
          jobId: spool.jobId,
          batches: group.length,
          events: eventsIn(group),
          error: errorText(error),
        });
        return oneByOne();
      }),
    );
  });
}

/**
 * Sends spooled batch `batch.index` until the server answers, and records the answer in the spool. Network errors and
 * "unavailable" answers (502, 503, 504, 408, 425, 429) are retried with backoff for as long as the server may be down.
 * A refused answer (answers.ts) is final, and a retry-later one that comes back {@link MAX_SAME_5XX_ANSWERS} times in a
 * row is taken as final too: either way the batch is set aside (recorded, so that no recovery sends it again) and
 * logged, so that later lines flow and the completion can say what was lost. A rejected token is thrown.
 */
export function deliverBatch(deps: DeliveryDeps, spool: JobSpool, batch: SpooledBatch): Observable<Delivery> {
  const { log } = deps;
  const { jobId } = spool;
  const { index, size } = batch;
  return defer(() => {
    let body: string;
    // Read once, outside the retry: a failing disk is not a network blip.
    try {
      body = spool.readBatch(index);
    } catch (error) {
      return of(setAside(error, 0, 'unreadable'));
    }
    return sendSpooled(deps, spool, [batch], body).pipe(
      recoverUnless(isFatal, (error): Observable<Delivery> => {
        const failing = error instanceof ApiError && error.meaning !== 'refused';
        return of(setAside(error, size, failing ? 'failing' : 'refused'));
      }),
    );
  });

  function setAside(error: unknown, events: number, why: SetAsideBatch['why']): Delivery {
    const answer = error instanceof ApiError ? { status: error.status, code: error.code, requestId: error.requestId } : {};
    const setAsideBatch: SetAsideBatch = { index, events, why, ...withoutUndefined(answer) };
    spool.setAside(setAsideBatch);
    log.error(`${SET_ASIDE_BECAUSE[why]}; it is set aside so that later lines flow, and the job will be reported as incomplete`, {
      jobId,
      batch: index,
      events,
      ...withoutUndefined(answer),
      error: errorText(error),
    });
    return { outcome: { kind: 'set_aside', batch: setAsideBatch }, accepted: 0 };
  }
}

/**
 * POSTs `body`, the events of the spooled batches `group`, retried as {@link retryPolicy} says (a retry sends the same
 * bytes), and acknowledges them all in the spool once the server accepts it. Errors are the caller's to settle.
 */
function sendSpooled(deps: DeliveryDeps, spool: JobSpool, group: readonly SpooledBatch[], body: string): Observable<Delivery> {
  const logBatchRetry = logRetry(deps.log, 'events batch', spool.jobId);
  const onRetry = (info: RetryInfo) => {
    deps.metrics?.batchRetried();
    logBatchRetry(info);
  };
  return deps.api.appendEvents(spool.jobId, body).pipe(
    retryBackoff({ ...deps.retry, scheduler: deps.scheduler, onRetry, shouldRetry: retryPolicy(deps.health) }),
    tap((outcome) => {
      const last = group.at(-1);
      if (outcome.kind === 'accepted' && last) spool.ack(last.index);
    }),
    map((outcome): Delivery => ({ outcome, accepted: outcome.kind === 'accepted' ? eventsIn(group) : 0 })),
  );
}

function eventsIn(group: readonly SpooledBatch[]): number {
  return group.reduce((sum, batch) => sum + batch.size, 0);
}

/** Which failures of one batch are worth another try (see {@link deliverBatch}); each batch counts its own. */
function retryPolicy(health: ServerHealth | undefined): (error: unknown) => boolean {
  let lastStatus: number | undefined;
  let streak = 0;
  let mark = health?.mark();
  return (error) => {
    if (!(error instanceof ApiError)) return isTransientError(error);
    if (isFatal(error)) return false;
    if (UNAVAILABLE_STATUSES.has(error.status)) {
      const serverIsUp = health !== undefined && mark !== undefined && health.acceptedSince(mark);
      mark = health?.mark();
      if (!serverIsUp) return true;
    }
    if (error.meaning === 'refused') return false;
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
        if (outcome.kind === 'job_ended') log.info('job was already terminal on the server', { jobId });
        if (outcome.kind === 'job_gone') log.warn('server no longer knows this job; completion not recorded', { jobId });
      }),
      recoverUnless(isFatal, (error) => {
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
  const counted = `${events} event${events === 1 ? '' : 's'} in ${lost.length} batch${lost.length === 1 ? '' : 'es'}`;
  return `${counted} ${events === 1 ? 'was' : 'were'} not accepted by the server (${why}); the transcript is incomplete`;
}

export function logRetry(log: Logger, what: string, jobId: string) {
  return ({ error, attempt, delayMs }: RetryInfo) =>
    log.warn(`${what} failed; retrying`, { jobId, attempt, inMs: delayMs, error: errorText(error) });
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}
