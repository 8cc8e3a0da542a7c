import {
  EMPTY,
  combineLatest,
  concat,
  concatMap,
  connect,
  defer,
  distinctUntilChanged,
  filter,
  map,
  mergeMap,
  of,
  scan,
  startWith,
  switchMap,
  takeUntil,
  takeWhile,
  tap,
  timer,
  withLatestFrom,
  type Observable,
} from 'rxjs';
import { activeWhile } from '../operators/activeWhile.js';
import { alongside } from '../operators/alongside.js';
import { feedback } from '../operators/feedback.js';
import { isTransientError } from '../operators/isTransientError.js';
import { poll } from '../operators/poll.js';
import { retryAfterOf } from '../streams/http/errors.js';
import type { JobDescriptor } from '../protocol/types.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import { DEFAULT_LONG_POLL_WAIT_SEC, LongPollWait } from './long-poll-wait.js';
import { runJob, type JobResult, type JobRunnerDeps } from './run-job.js';
import { excludedAdapterTypes, leavesQueued, usagePauses, type UsagePauseOptions } from './usage-limits.js';

export interface DaemonDeps extends Omit<JobRunnerDeps, 'cancel$' | 'pausedUntil'> {
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
  /** How the daemon pauses an agent CLI after a usage limit (docs/usage-limits.md). */
  usagePauses?: UsagePauseOptions;
  /** The wait to ask a server that applies waits to hold a long-poll (Part 2; default DEFAULT_LONG_POLL_WAIT_SEC). */
  longPollWaitSec?: number;
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

/** A job's life as the load sees it: it started, or it ended with this result (its agent id beside it). */
type JobEvent = { kind: 'started' } | { kind: 'ended'; result: JobResult; agentId: string | undefined };

/** The load after a job event, with the result of the job that ended (and its agent id), if one did. */
interface LoadStep {
  load: Load;
  ended?: JobResult;
  agentId?: string;
}

/**
 * What goes back from the jobs to the poll: the load, the agent CLIs paused now (each to its pause's end), and what
 * the claims taught of each agent: the CLI its jobs need (how a server without the usage-limit extension is read).
 */
interface Fed {
  load: Load;
  pauses: ReadonlyMap<string, number>;
  agentClis: ReadonlyMap<string, string>;
}

/** An offered job, with the pauses in force when it was offered: its claim gives it back if its CLI is paused. */
type Offered = { kind: 'job'; job: JobDescriptor; pauses: ReadonlyMap<string, number> };

const NO_AGENT_CLIS: ReadonlyMap<string, string> = new Map();

const hasEnded = (step: LoadStep): step is LoadStep & { ended: JobResult } => step.ended !== undefined;

/** What the ended jobs taught of their agents' CLIs, one agent id to one CLI. */
function learnAgentClis(known: ReadonlyMap<string, string>, { ended, agentId }: LoadStep): ReadonlyMap<string, string> {
  const cli = ended?.agent;
  if (agentId === undefined || cli === undefined || known.get(agentId) === cli) return known;
  return new Map(known).set(agentId, cli);
}

/** A claim lost to another runner, a job gone before its claim or never claimed: nothing ran, so `maxJobs` does not count it. */
const ran = (result: JobResult) => result.outcome !== 'lost' && result.outcome !== 'gone' && result.outcome !== 'unclaimed';

function nextLoad({ load }: LoadStep, event: JobEvent): LoadStep {
  if (event.kind === 'started') return { load: { ...load, running: load.running + 1 } };
  const finished = load.finished + (ran(event.result) ? 1 : 0);
  return {
    load: { running: load.running - 1, finished },
    ended: event.result,
    ...(event.agentId !== undefined && { agentId: event.agentId }),
  };
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
  const leftJobWaitMs = deps.usagePauses?.leftJobWaitMs ?? 10_000;

  // Room for a job while fewer than `concurrency` run and fewer than `maxJobs` have run or are running.
  const hasRoom = (load$: Observable<Load>) =>
    load$.pipe(map(({ running, finished }) => running < concurrency && running + finished < maxJobs));
  const longPollWait = new LongPollWait(deps.longPollWaitSec ?? DEFAULT_LONG_POLL_WAIT_SEC, (askedSec, failedAfterSec) =>
    log.warn(
      `a long-poll that asked the server to wait ${askedSec}s failed after ${failedAfterSec}s: something between the runner ` +
        "and the server (a proxy's read timeout?) ends long waits, so the runner asks for the protocol's 30s from now on",
    ),
  );
  const nextJob = (excluded: readonly string[], fed$: Observable<Fed>): Observable<Offered | { kind: 'empty' }> =>
    defer(() => {
      const askedSec = longPollWait.askSec;
      const askedAt = deps.scheduler.now();
      return deps.api.nextJob(excluded, askedSec).pipe(
        tap({
          next: (answer) => longPollWait.answered(answer.waitAppliedSec),
          // What a cut wait looks like (a 502/504, a reset, no answer); a refused token is not the path's doing.
          error: (error) => {
            if (isTransientError(error)) longPollWait.failed(askedSec, deps.scheduler.now() - askedAt);
          },
        }),
      );
    }).pipe(
      tap(() => deps.metrics?.pollAnswered()),
      withLatestFrom(fed$),
      // A job of a paused CLI stays queued, and the next poll waits a while: a server without the extension offers
      // the same job again at once.
      concatMap(([answer, { pauses, agentClis }]) => {
        if (answer.kind !== 'job') return of(answer);
        if (leavesQueued(answer.job, pauses, (agentId) => agentClis.get(agentId)))
          return timer(leftJobWaitMs, deps.scheduler).pipe(map(() => ({ kind: 'empty' as const })));
        return of({ ...answer, pauses });
      }),
    );
  // Offered jobs, polled for only while `hasRoom$` says there is room: a job the server offers is then always
  // claimed, never dropped. A pause that starts or ends changes what the long-poll excludes: the poll in flight
  // gives way to a new one at once.
  const jobsWhile = (fed$: Observable<Fed>) =>
    fed$.pipe(
      map(({ pauses }) => excludedAdapterTypes(pauses)),
      distinctUntilChanged((before, after) => before.join() === after.join()),
      switchMap((excluded) =>
        poll(() => nextJob(excluded, fed$), {
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
        }),
      ),
      activeWhile(hasRoom(fed$.pipe(map(({ load }) => load)))),
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
      // Each job's start and end, with the load after it; jobs are polled for while that load leaves room, and for the
      // agent CLIs not paused.
      const steps = (fed$: Observable<Fed>) =>
        jobsWhile(fed$).pipe(
          takeUntil(stopPolling$),
          mergeMap(({ job, pauses }) => {
            deps.metrics?.jobStarted(job.jobId);
            log.info('got job', { jobId: job.jobId, agent: job.agentName });
            return runJob(job, { ...deps, cancel$, pausedUntil: (agent) => pauses.get(agent) }).pipe(
              map((result): JobEvent => ({ kind: 'ended', result, agentId: job.agentId })),
              startWith<JobEvent>({ kind: 'started' }),
            );
          }, concurrency),
          scan(nextLoad, { load: IDLE }),
        );
      // The load, counted from the jobs' starts and ends, the pauses their results call for, and what they taught of
      // their agents' CLIs, go back to the poll.
      const fed = (step$: Observable<LoadStep>): Observable<Fed> =>
        combineLatest({
          load: step$.pipe(
            map(({ load }) => load),
            startWith(IDLE),
          ),
          pauses: usagePauses(
            step$.pipe(
              filter(hasEnded),
              map(({ ended }) => ended),
            ),
            deps.usagePauses ?? {},
            deps,
          ),
          agentClis: step$.pipe(scan(learnAgentClis, NO_AGENT_CLIS), startWith(NO_AGENT_CLIS), distinctUntilChanged()),
        });
      const work$ = feedback(steps, fed).pipe(
        takeWhile(({ load }) => load.finished < maxJobs, true),
        filter(hasEnded),
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
