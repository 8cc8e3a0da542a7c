import { EMPTY, exhaustMap, filter, map, takeWhile, timer, type Observable, type SchedulerLike } from 'rxjs';
import { recoverUnless } from '../operators/recoverUnless.js';
import type { HeartbeatOutcome, RunnerApi } from '../streams/http/runner-api.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import type { Logger } from './logger.js';
import type { StopReason } from './stops.js';

export interface HeartbeatDeps {
  api: Pick<RunnerApi, 'heartbeat'>;
  log: Logger;
  scheduler: SchedulerLike;
  heartbeatMs: number;
}

/** What an answer to a heartbeat means for the job: whether its agent is to stop, whether the job beats again. */
interface HeartbeatMeaning {
  stopsAgent: boolean;
  beatsAgain: boolean;
}

const MEANING: Record<HeartbeatOutcome['kind'], HeartbeatMeaning> = {
  accepted: { stopsAgent: false, beatsAgain: true },
  // 409: cancelled on the server, or taken away.
  job_ended: { stopsAgent: true, beatsAgain: false },
  // 404 job_not_found, 403: the job is not this runner's any more.
  job_gone: { stopsAgent: true, beatsAgain: false },
  // The server lacks the route (it speaks only Part 1 of the protocol): this job beats no more, the next job asks again.
  route_missing: { stopsAgent: false, beatsAgain: false },
};

/**
 * The job's heartbeat (PROTOCOL.md, Part 2): a beat every `heartbeatMs` while it is subscribed, which renews the job's
 * lease on the server and is how a silent agent learns of a cancel. Emits `server` when an answer says the job is over;
 * a beat that fails is tried again at the next one; a rejected token ends it with the error.
 */
export function heartbeat(jobId: string, deps: HeartbeatDeps): Observable<StopReason> {
  const { api, log, scheduler, heartbeatMs } = deps;
  return timer(heartbeatMs, heartbeatMs, scheduler).pipe(
    exhaustMap(() =>
      api.heartbeat(jobId).pipe(
        recoverUnless(isFatal, (error) => {
          log.debug('heartbeat failed; trying again at the next beat', { jobId, error: errorText(error) });
          return EMPTY;
        }),
      ),
    ),
    map((outcome) => MEANING[outcome.kind]),
    takeWhile(({ beatsAgain }) => beatsAgain, true),
    filter(({ stopsAgent }) => stopsAgent),
    map((): StopReason => 'server'),
  );
}
