import { EMPTY, concat, connect, filter, map, mergeMap, scan, startWith, takeUntil, takeWhile, tap, type Observable } from 'rxjs';
import { activeWhile } from '../operators/activeWhile.js';
import { alongside } from '../operators/alongside.js';
import { feedback } from '../operators/feedback.js';
import { poll } from '../operators/poll.js';
import { retryAfterOf } from '../streams/http/errors.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import { runJob, type JobResult, type JobRunnerDeps } from './run-job.js';

export interface DaemonDeps extends Omit<JobRunnerDeps, 'cancel$'> {
  /** SIGINT/SIGTERM as they arrive: the first stops polling, the second stops the jobs, the third exits. */
  signals$: Observable<NodeJS.Signals>;
  /** The least time between two long-polls, against a server that answers at once. */
  pollMinIntervalMs: number;
  /** How many jobs run at once (default 1). */
  concurrency?: number;
  /** Stop after this many jobs ran (default: never). Claims lost to another runner do not count. */
  maxJobs?: number;
  /** Delivers what an earlier run left in the spool; runs before the first poll. */
  recover$?: Observable<JobResult>;
}

/** A third signal: the user wants out now, whatever is running. */
export class ForcedExitError extends Error {
  override readonly name = 'ForcedExitError';
  constructor() {
    super('third signal: exiting at once');
  }
}

/** How busy the daemon is: jobs running now, and jobs that ran to an end (what `maxJobs` counts). */
interface Load {
  running: number;
  finished: number;
}

const IDLE: Load = { running: 0, finished: 0 };

/** A job's life as the load sees it: it started, or it ended with this result. */
type JobEvent = { kind: 'started' } | { kind: 'ended'; result: JobResult };

/** The load after a job event, with the result of the job that ended, if one did. */
interface LoadStep {
  load: Load;
  ended?: JobResult;
}

/** A claim lost to another runner, a job gone before its claim or never claimed: nothing ran, so `maxJobs` does not count it. */
const ran = (result: JobResult) => result.outcome !== 'lost' && result.outcome !== 'gone' && result.outcome !== 'unclaimed';

function nextLoad({ load }: LoadStep, event: JobEvent): LoadStep {
  if (event.kind === 'started') return { load: { ...load, running: load.running + 1 } };
  const finished = load.finished + (ran(event.result) ? 1 : 0);
  return { load: { running: load.running - 1, finished }, ended: event.result };
}

/**
 * The daemon: deliver what an earlier run left, then long-poll for a job while there is room for one, run
 * it, report it, poll again; until a signal. Emits each job's result. The first signal stops the poll
 * source (aborting the long-poll in flight) so running jobs drain and are reported; the second stops the
 * agents and reports their jobs as cancelled; the third errors with ForcedExitError.
 */
export function runDaemon(deps: DaemonDeps): Observable<JobResult> {
  const { log } = deps;
  const concurrency = deps.concurrency ?? 1;
  const maxJobs = deps.maxJobs ?? Infinity;

  // Room for a job while fewer than `concurrency` run and fewer than `maxJobs` have run or are running.
  const hasRoom = (load$: Observable<Load>) =>
    load$.pipe(
      startWith(IDLE),
      map(({ running, finished }) => running < concurrency && running + finished < maxJobs),
    );
  const nextJob = () => deps.api.nextJob().pipe(tap(() => deps.metrics?.pollAnswered()));
  // Offered jobs, polled for only while `hasRoom$` says there is room: a job the server offers is then always
  // claimed, never dropped.
  const jobsWhile = (hasRoom$: Observable<boolean>) =>
    poll(nextJob, {
      isEmpty: (answer) => answer.kind === 'empty',
      minIntervalMs: deps.pollMinIntervalMs,
      backoff: {
        ...deps.retry,
        // Any answer but a rejected token is retried, with backoff: a server that answers 404, 400, a redirect or
        // garbage to the long-poll is misconfigured or broken, and the runner waits for it to be fixed, saying why.
        shouldRetry: (error) => !isFatal(error),
        // A busy server (429) says when to come back.
        delayFor: retryAfterOf,
        onRetry: ({ error, delayMs }) => {
          deps.metrics?.pollFailed();
          log.warn('polling for jobs failed; trying again', { inMs: delayMs, error: errorText(error) });
        },
      },
      random: deps.retry.random,
      scheduler: deps.scheduler,
    }).pipe(
      map(({ job }) => job),
      activeWhile(hasRoom$),
    );

  return deps.signals$.pipe(
    scan((count) => count + 1, 0),
    connect((signalCount$) => {
      const stopPolling$ = signalCount$.pipe(
        filter((count) => count === 1),
        tap(() => log.info('stopping: no new jobs; running ones finish first. Signal again to stop them now.')),
      );
      const cancel$ = signalCount$.pipe(
        filter((count) => count === 2),
        tap(() => log.warn('stopping now: cancelling the running jobs. Signal a third time to exit at once.')),
      );
      const force$ = signalCount$.pipe(
        filter((count) => count >= 3),
        tap(() => {
          throw new ForcedExitError();
        }),
      );
      // Each job's start and end, with the load after it; jobs are polled for while that load leaves room.
      const steps = (load$: Observable<Load>) =>
        jobsWhile(hasRoom(load$)).pipe(
          takeUntil(stopPolling$),
          mergeMap((job) => {
            deps.metrics?.jobStarted(job.jobId);
            log.info('got job', { jobId: job.jobId, agent: job.agentName });
            return runJob(job, { ...deps, cancel$ }).pipe(
              map((result): JobEvent => ({ kind: 'ended', result })),
              startWith<JobEvent>({ kind: 'started' }),
            );
          }, concurrency),
          scan(nextLoad, { load: IDLE }),
        );
      // The load, counted from the jobs' starts and ends, goes back to the poll.
      const work$ = feedback(steps, (step$) => step$.pipe(map(({ load }) => load))).pipe(
        takeWhile(({ load }) => load.finished < maxJobs, true),
        filter((step): step is Required<LoadStep> => step.ended !== undefined),
        map(({ ended }) => ended),
      );
      return concat(deps.recover$ ?? EMPTY, work$).pipe(
        tap((result) => {
          deps.metrics?.jobFinished(result.jobId, result.outcome);
          log.info(`job ${result.outcome}`, { ...result });
        }),
        alongside(force$),
      );
    }),
  );
}
