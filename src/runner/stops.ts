import { filter, map, merge, tap, timer, type Observable, type SchedulerLike } from 'rxjs';
import { endsJob, type Delivery } from './delivery.js';
import type { Logger } from './logger.js';

/** Why the runner stopped an agent before it finished by itself. */
export type StopReason = 'timeout' | 'shutdown' | 'server';

/** The longest a job may run, in seconds: the ceiling of `--timeout-sec`. */
export const MAX_TIMEOUT_SEC = 3600;

export function stopMessage(reason: StopReason, limitSec: number): string {
  switch (reason) {
    case 'timeout':
      return `timed out after ${limitSec} s; the agent was stopped (raise runtimeConfig.timeoutSec or --timeout-sec, at most ${MAX_TIMEOUT_SEC})`;
    case 'shutdown':
      return 'cancelled: the runner was told to stop now (second signal) while the job ran';
    case 'server':
      return 'cancelled on the server while the job ran';
  }
}

export interface StopSources {
  /** When the job's time is up (ms, on the scheduler's clock): absolute, so that a second run of the agent gets no fresh allowance. */
  deadline: number;
  /** The user's second signal: stop the running jobs now. */
  cancel$: Observable<unknown>;
  /** The server said the job is over (see {@link serverStops}). */
  serverStop$: Observable<StopReason>;
  scheduler: SchedulerLike;
}

/** Every reason to stop the job's agent, as it comes: its deadline, the user's second signal, the server's word. */
export function stopRequests({ deadline, cancel$, serverStop$, scheduler }: StopSources): Observable<StopReason> {
  return merge(
    timer(new Date(deadline), scheduler).pipe(map((): StopReason => 'timeout')),
    cancel$.pipe(map((): StopReason => 'shutdown')),
    serverStop$,
  );
}

/**
 * Where a server's answer stops the agent: a batch answered 409 (the job is over on the server: completed, failed or
 * cancelled there) or 403/404 (the job is no longer this runner's), and whatever the heartbeat says ends the job.
 */
export function serverStops(
  deliveries$: Observable<Delivery>,
  heartbeatStop$: Observable<StopReason>,
  log: Logger,
  jobId: string,
): Observable<StopReason> {
  return merge(
    deliveries$.pipe(
      filter(endsJob),
      tap(({ outcome }) =>
        log.warn(
          outcome.kind === 'job_ended'
            ? 'job ended on the server; stopping the agent'
            : 'job no longer belongs to this runner; stopping the agent',
          { jobId },
        ),
      ),
      map((): StopReason => 'server'),
    ),
    heartbeatStop$,
  );
}
