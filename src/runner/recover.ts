import { EMPTY, concat, concatMap, defer, from, ignoreElements, map, takeWhile, tap, type Observable } from 'rxjs';
import type { CompletionBody } from '../protocol/types.js';
import { killOrphanedAgent } from '../streams/orphans.js';
import { findLeftovers, type LeftoverJob } from '../streams/spool.js';
import { deliverBatch, deliverCompletion, type DeliveryDeps } from './delivery.js';
import type { JobResult } from './run-job.js';

export interface RecoveryDeps extends DeliveryDeps {
  spoolDir: string;
  serverUrl: string;
  isRunnerAlive: (pid: number) => boolean;
}

/** What a job is reported as when its runner died before the agent finished. */
export const STOPPED_MID_JOB =
  'the runner stopped mid-job (it was killed or crashed) before the agent finished; the output it had read was delivered';

/**
 * Settles what runners before this one left in the spool: stops any agent they left running, sends the
 * batches the server has not accepted yet, then the completion (or, when the runner died before it knew
 * one, a failure saying so). Runs before the daemon polls, so old jobs are settled before new ones start.
 */
export function recoverLeftovers(deps: RecoveryDeps): Observable<JobResult> {
  return defer(() => from(findLeftovers(deps.spoolDir, deps.isRunnerAlive))).pipe(
    concatMap((leftover) => {
      if (leftover.serverUrl !== deps.serverUrl) {
        deps.log.warn('spooled job belongs to another server; leaving it for a runner of that server', {
          jobId: leftover.jobId,
          serverUrl: leftover.serverUrl,
        });
        return EMPTY;
      }
      return settleLeftover(leftover, deps);
    }),
  );
}

function settleLeftover(leftover: LeftoverJob, deps: RecoveryDeps): Observable<JobResult> {
  const { jobId, spool } = leftover;
  const killed = leftover.agentPid === undefined || leftover.completion ? [] : killOrphanedAgent(leftover.agentPid, jobId);
  deps.log.info('delivering what a previous run left', { jobId, batches: leftover.pendingBatches.length, stoppedAgentProcesses: killed.length });
  let eventsSent = 0;
  const completion: CompletionBody = leftover.completion ?? { status: 'failed', exitCode: -1, signal: null, errorMessage: STOPPED_MID_JOB };
  const batches$ = from(leftover.pendingBatches).pipe(
    concatMap((index) => deliverBatch(deps, spool, index).pipe(map((outcome) => ({ outcome, index })))),
    // A job the server already ended (its lease expired, say) takes no more events; its completion still goes.
    takeWhile(({ outcome }) => outcome.kind === 'ok' || outcome.kind === 'refused'),
    tap(({ index }) => (eventsSent += countEvents(spool.readBatch(index)))),
    ignoreElements(),
  );
  return concat(
    batches$,
    deliverCompletion(deps, spool, completion).pipe(
      map((): JobResult => ({ jobId, outcome: completion.status, exitCode: completion.exitCode, eventsSent, errorMessage: completion.errorMessage })),
    ),
  );
}

function countEvents(body: string): number {
  return (JSON.parse(body) as { events: unknown[] }).events.length;
}
