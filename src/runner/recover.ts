import { EMPTY, concat, concatMap, defer, from, map, reduce, skip, takeWhile, tap, toArray, type Observable } from 'rxjs';
import { adapterFor, processAdapter } from '../agents/index.js';
import { coalesceWhileBusy } from '../operators/coalesceWhileBusy.js';
import { recoverUnless } from '../operators/recoverUnless.js';
import { splitLines } from '../operators/splitLines.js';
import type { CompletionBody } from '../protocol/types.js';
import { killJobProcesses, waitUntilDead } from '../streams/orphans.js';
import { readOutputFile } from '../streams/output-file.js';
import { findLeftovers, type LeftoverJob } from '../streams/spool.js';
import { jobIdProblem } from '../protocol/schemas.js';
import { failQuarantinedJob, quarantineLeftover } from './quarantine.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import { deliverBatches, deliverCompletion, endsJob, joinsRequest, type DeliveryDeps } from './delivery.js';
import { lineChangeLog, stderrEvent, stdoutEvent, type ReadLine } from './line-events.js';
import type { JobResult } from './run-job.js';
import { eventsOf, spoolEvents, spooledBatchAt } from './spool-events.js';

export interface RecoveryDeps extends DeliveryDeps {
  spoolDir: string;
  serverUrl: string;
  isRunnerAlive: (pid: number) => boolean;
}

/** What a job is reported as when its runner died before the agent finished. */
export const STOPPED_MID_JOB =
  'the runner stopped mid-job (it was killed or crashed) before the agent finished; ' +
  'the agent was stopped and every line it printed was delivered. Queue the job again to finish it';

/**
 * Delivers what runners before this one left in the spool: stops any agent they left running, spools the
 * lines it printed that they never read, sends every batch the server has not accepted yet, then the
 * completion (or, when the runner died before it knew one, a failure saying so). Runs before the daemon
 * polls, so old jobs are reported before new ones start.
 */
export function recoverLeftovers(deps: RecoveryDeps): Observable<JobResult> {
  const quarantine = (path: string, jobId: string | undefined, error: unknown) => quarantineLeftover(path, jobId, error, deps);
  return defer(() => from(findLeftovers(deps.spoolDir, deps.isRunnerAlive, (path, error) => quarantine(path, undefined, error)))).pipe(
    concatMap((leftover) => {
      if (leftover.serverUrl !== deps.serverUrl) {
        deps.log.warn('spooled job belongs to another server; leaving it for a runner of that server', {
          jobId: leftover.jobId,
          serverUrl: leftover.serverUrl,
        });
        return EMPTY;
      }
      // A hand-edited or damaged header: such an id would change the URL it is sent to, or not encode at all.
      const badId = jobIdProblem(leftover.jobId);
      if (badId) return (quarantine(leftover.path, undefined, new Error(badId)), EMPTY);
      // Whatever goes wrong delivering one leftover fails that job, never the runner: no spool can stop the next start.
      return defer(() => deliverLeftover(leftover, deps)).pipe(
        recoverUnless(isFatal, (error) => {
          const keptAt = quarantine(leftover.path, leftover.jobId, error);
          return failQuarantinedJob(leftover.jobId, error, keptAt, deps);
        }),
      );
    }),
    recoverUnless(isFatal, (error) => {
      deps.log.error(`could not look for what a previous run left in ${deps.spoolDir} (${errorText(error)}); going on without it`);
      return EMPTY;
    }),
  );
}

function deliverLeftover(leftover: LeftoverJob, deps: RecoveryDeps): Observable<JobResult> {
  const { jobId, spool } = leftover;
  const completion: CompletionBody = leftover.completion ?? { status: 'failed', exitCode: -1, signal: null, errorMessage: STOPPED_MID_JOB };
  // With the completion written, every line was already spooled; without it, the agent's files hold the rest.
  const unreadBatches$ = leftover.completion ? EMPTY : spoolUnreadOutput(leftover, deps);
  const eventsSent$ = unreadBatches$.pipe(
    toArray(),
    tap((unread) =>
      deps.log.info('delivering what a previous run left', { jobId, batches: leftover.pendingBatches.length + unread.length }),
    ),
    concatMap((unread) => from([...leftover.pendingBatches.map((index) => spooledBatchAt(spool, index)), ...unread])),
    // The same requests as a live run's backlog: as many batches in each as fit.
    coalesceWhileBusy((group) => deliverBatches(deps, spool, group), { fits: joinsRequest }),
    // A job the server already ended (its lease expired, say) takes no more events; its completion still goes.
    takeWhile((delivery) => !endsJob(delivery)),
    reduce((sent, { accepted }) => sent + accepted, 0),
  );
  return eventsSent$.pipe(
    // Honest about every batch set aside, by this recovery or by the run that died.
    concatMap((eventsSent) =>
      deliverCompletion(deps, spool, completion).pipe(
        map((body): JobResult => ({ jobId, outcome: body.status, exitCode: body.exitCode, eventsSent, errorMessage: body.errorMessage })),
      ),
    ),
  );
}

/**
 * Stops the agent a dead runner left running, then spools what it printed that the runner never spooled: each
 * stream's file read from the start, past as many lines as the spooled events account for (stderr lines are
 * `stderr_line` events, every other event is a stdout line), with `seq` carrying on where they stopped.
 */
function spoolUnreadOutput(leftover: LeftoverJob, deps: RecoveryDeps) {
  const { jobId, spool } = leftover;
  return defer(() => {
    // Every process of the job, wherever it went; also when the runner died before it could record the agent's pid.
    const killed = killJobProcesses(jobId);
    return waitUntilDead(killed, { scheduler: deps.scheduler }).pipe(
      map((survivors) => {
        if (survivors.length)
          deps.log.warn('processes of the previous agent outlived SIGKILL; reading its output as it stands', { jobId, pids: survivors });
        if (killed.length) deps.log.info('stopped the agent a previous run left', { jobId, processes: killed.length });
        return spooledLineCounts(leftover, deps);
      }),
    );
  }).pipe(
    concatMap((spooled) => {
      const adapter = adapterFor(leftover.adapterType) ?? processAdapter;
      const noteLineChange = lineChangeLog(deps.log, jobId);
      // The same rule as a live run's, so that each line is one event of the same kind: the counts above stay true.
      const unread = (stream: 'stdout' | 'stderr', read: (line: string) => ReadLine) =>
        readOutputFile(spool.output[stream]).pipe(
          splitLines(),
          skip(spooled[stream]),
          map((line) => {
            const { event, change } = read(line);
            noteLineChange(change);
            return event;
          }),
        );
      return concat(
        unread('stdout', (line) => stdoutEvent(line, adapter)),
        unread('stderr', stderrEvent),
      ).pipe(spoolEvents(spool, { scheduler: deps.scheduler, firstSeq: spooled.stdout + spooled.stderr, noteLineChange }));
    }),
  );
}

function spooledLineCounts({ jobId, spool }: LeftoverJob, deps: RecoveryDeps): { stdout: number; stderr: number } {
  const counts = { stdout: 0, stderr: 0 };
  for (let index = 0; index < spool.batchCount; index++) {
    const events = eventsOf(spool.readBatch(index));
    // The server refuses such a body too, so its lines count as not delivered: they are read again from the files.
    if (!events) deps.log.warn("a spooled batch is corrupt; its lines are read again from the agent's output", { jobId, batch: index });
    for (const event of events ?? []) counts[event.kind === 'stderr_line' ? 'stderr' : 'stdout']++;
  }
  return counts;
}
