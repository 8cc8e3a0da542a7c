import { BehaviorSubject, connect, exhaustMap, filter, finalize, map, scan, take, takeUntil, tap, type Observable } from 'rxjs';
import { activeWhile } from '../operators/activeWhile.js';
import { alongside } from '../operators/alongside.js';
import { poll } from '../operators/poll.js';
import { errorText } from './agent-run.js';
import { runJob, type JobResult, type JobRunnerDeps } from './run-job.js';

export interface DaemonDeps extends Omit<JobRunnerDeps, 'cancel$'> {
  /** SIGINT/SIGTERM as they arrive: the first stops polling, the second stops the job, the third exits. */
  signals$: Observable<NodeJS.Signals>;
  /** The least time between two long-polls, against a server that answers at once. */
  pollMinIntervalMs: number;
  /** Stop after this many jobs (default: never). */
  maxJobs?: number;
}

/** A third signal: the user wants out now, whatever is running. */
export class ForcedExitError extends Error {
  override readonly name = 'ForcedExitError';
  constructor() {
    super('third signal: exiting at once');
  }
}

/**
 * The daemon: long-poll for a job while idle, run it, report it, poll again; until a signal.
 * Emits each job's result. The first signal stops the poll source (and aborts the long-poll in
 * flight) so the running job drains and is reported; the second stops the agent and reports the job
 * as cancelled; the third errors with ForcedExitError.
 */
export function runDaemon(deps: DaemonDeps): Observable<JobResult> {
  const { log } = deps;
  const idle$ = new BehaviorSubject(true);
  const jobs$ = poll(() => deps.api.nextJob(), {
    isEmpty: (answer) => answer.kind === 'empty',
    minIntervalMs: deps.pollMinIntervalMs,
    backoff: {
      ...deps.retry,
      onRetry: ({ error, delayMs }) => log.warn('polling for jobs failed; trying again', { inMs: delayMs, error: errorText(error) }),
    },
    random: deps.retry.random,
    scheduler: deps.scheduler,
  }).pipe(
    map((answer) => (answer.kind === 'job' ? answer.job : undefined)!),
    activeWhile(idle$),
  );

  return deps.signals$.pipe(
    scan((count) => count + 1, 0),
    connect((signalCount$) => {
      const stopPolling$ = signalCount$.pipe(
        filter((count) => count === 1),
        tap(() => log.info('stopping: no new jobs; the current one (if any) finishes first. Signal again to stop it now.')),
      );
      const cancel$ = signalCount$.pipe(
        filter((count) => count === 2),
        tap(() => log.warn('stopping now: cancelling the current job. Signal a third time to exit at once.')),
      );
      const force$ = signalCount$.pipe(
        filter((count) => count >= 3),
        tap(() => {
          throw new ForcedExitError();
        }),
      );
      return jobs$.pipe(
        takeUntil(stopPolling$),
        exhaustMap((job) => {
          idle$.next(false);
          log.info('got job', { jobId: job.jobId, agent: job.agentName });
          return runJob(job, { ...deps, cancel$ }).pipe(finalize(() => idle$.next(true)));
        }),
        tap((result) => log.info(`job ${result.outcome}`, { ...result })),
        take(deps.maxJobs ?? Infinity),
        alongside(force$),
      );
    }),
  );
}
