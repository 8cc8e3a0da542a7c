import {
  EMPTY,
  concatMap,
  connect,
  defer,
  filter,
  finalize,
  from,
  map,
  merge,
  of,
  reduce,
  switchMap,
  take,
  tap,
  type Observable,
  type ObservableInput,
} from 'rxjs';
import type { AgentAdapter, UsageLimit } from '../agents/index.js';
import { coalesceWhileBusy } from '../operators/coalesceWhileBusy.js';
import { feedback } from '../operators/feedback.js';
import { recoverUnless } from '../operators/recoverUnless.js';
import { retryBackoff } from '../operators/retryBackoff.js';
import type { CompletionBody, CompletionStatus, JobDescriptor } from '../protocol/types.js';
import type { ClaimOutcome } from '../streams/http/runner-api.js';
import type { ProcessOutput, ProcessSpec } from '../streams/process.js';
import type { JobSpool } from '../streams/spool.js';
import { admit, type AdmittedJob } from './admission.js';
import { agentRun, completionVerdict, type AgentRunEnd } from './agent-run.js';
import type { Contain } from './containment.js';
import { wireUsageLimit } from './usage-limits.js';
import { deliverBatches, deliverCompletion, joinsRequest, logRetry, type Delivery, type DeliveryDeps } from './delivery.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import { withFreshSessionRetry } from './fresh-session.js';
import { heartbeat } from './heartbeat.js';
import { lineChangeLog } from './line-events.js';
import { spoolEvents, type SpooledBatch } from './spool-events.js';
import { serverStops, stopMessage, stopRequests, type StopReason } from './stops.js';

export interface JobResult {
  jobId: string;
  /**
   * `lost`: another runner claimed it first; `gone`: cancelled or unknown before the claim; `unclaimed`: the claim
   * failed (the server kept failing, or answered something unexpected), so the job was left to the server.
   */
  outcome: CompletionStatus | 'lost' | 'gone' | 'unclaimed';
  exitCode?: number;
  eventsSent: number;
  costMicros?: number;
  sessionId?: string | null;
  errorMessage?: string | null;
  elapsedSec?: number;
  /** The agent CLI the claimed job needed (its adapter's name), when the runner knows it. */
  agent?: string;
  /** The usage limit its agent ran into (docs/usage-limits.md). */
  usageLimit?: UsageLimit;
}

export interface JobRunnerDeps extends DeliveryDeps {
  spawn: (spec: ProcessSpec) => Observable<ProcessOutput>;
  /** The binary to run for an adapter (`--claude-bin` and friends). */
  binFor: (adapter: AgentAdapter) => string;
  /** `process` jobs name the program to run: only where the runner's owner allowed it. */
  allowProcessJobs: boolean;
  /** The CLI's version line; asked once per binary by the caller's cache. */
  cliVersion: (bin: string, args: readonly string[]) => ObservableInput<string | undefined>;
  /** The agent's environment: the runner's own, without its secrets. */
  agentEnv: (jobId: string) => NodeJS.ProcessEnv;
  timeoutCapSec: number;
  killGraceMs: number;
  heartbeatMs: number;
  /** Emits when the user asks, by a second signal, to stop the running job now. */
  cancel$: Observable<unknown>;
  /** Opens the job's durable spool, where batches and the completion wait until the server accepts them. */
  openSpool: (jobId: string) => JobSpool;
  /** Places each job's agent: its workspace, extra directories, sandbox and process sweep. None: where the runner runs. */
  contain?: Contain;
  /** When the pause of an agent CLI after a usage limit ends, while one lasts: a claimed job of it is given back. */
  pausedUntil?: (agent: string) => number | undefined;
}

/** What a running job has done so far: a request of batches the server answered, or the agent's run ended. */
type JobProgress = { kind: 'delivered'; delivery: Delivery } | { kind: 'ended'; run: AgentRunEnd };

/**
 * One job, from claim to completion, as an Observable that emits the job's result once it is reported.
 * Claim → admit → spawn the agent → its lines become events → batches POSTed in order, each retried →
 * the completion, sent only after every batch was accepted.
 */
export function runJob(job: JobDescriptor, deps: JobRunnerDeps): Observable<JobResult> {
  const { jobId } = job;
  return deps.api.claim(jobId).pipe(
    retryBackoff({ ...deps.retry, maxAttempts: 5, scheduler: deps.scheduler, onRetry: logRetry(deps.log, 'claim', jobId) }),
    // Whatever the server answered to the claim, the runner goes back to polling; only a rejected token stops it.
    recoverUnless(isFatal, (error) => of({ kind: 'unclaimed' as const, error })),
    switchMap((claim) => {
      if (claim.kind === 'unclaimed') {
        const errorMessage = errorText(claim.error);
        deps.log.warn('could not claim the job; going back to polling', { jobId, error: errorMessage });
        return of<JobResult>({ jobId, outcome: 'unclaimed', eventsSent: 0, errorMessage });
      }
      if (claim.kind === 'job_ended' || claim.kind === 'job_gone') {
        const lost = claim.kind === 'job_ended';
        deps.log.info(lost ? 'job taken by another runner' : 'job cancelled before it could be claimed', { jobId });
        return of<JobResult>({ jobId, outcome: lost ? 'lost' : 'gone', eventsSent: 0 });
      }
      return executeJob(claim, deps.openSpool(jobId), deps);
    }),
  );
}

function executeJob(
  claim: Extract<ClaimOutcome, { kind: 'claimed' | 'malformed' }>,
  spool: JobSpool,
  deps: JobRunnerDeps,
): Observable<JobResult> {
  const startedAt = deps.scheduler.now();
  const admission = admit(claim, deps);
  if (!admission.admitted) {
    const { errorMessage, usageLimit, agent } = admission;
    return refuse(errorMessage, usageLimit && wireUsageLimit(usageLimit)).pipe(
      map((result): JobResult => ({ ...result, ...(agent && { agent }) })),
    );
  }
  const { job } = admission;
  const placed = deps.contain?.(job.payload, job.adapter, spool.instructionsPath);
  if (placed && 'refused' in placed) return refuse(placed.refused);
  const spawn: JobRunnerDeps['spawn'] = placed ? (spec) => deps.spawn(placed.place(spec)) : deps.spawn;
  return runAgent({ ...job, payload: placed?.job ?? job.payload }, spool, startedAt, { ...deps, spawn });

  function refuse(errorMessage: string, usageLimit?: CompletionBody['usageLimit']): Observable<JobResult> {
    const completion = { status: 'failed' as const, exitCode: -1, errorMessage, ...(usageLimit && { usageLimit }) };
    return reportCompletion(deps, spool, startedAt, 0, of(completion));
  }
}

function runAgent(job: AdmittedJob, spool: JobSpool, startedAt: number, deps: JobRunnerDeps): Observable<JobResult> {
  const { payload, adapter } = job;
  const { jobId } = payload;
  const { log, scheduler, metrics } = deps;
  const bin = deps.binFor(adapter);
  // Asked now, so that the answer is there by the end of the run.
  const cliVersion = adapter.versionArgs.length ? deps.cliVersion(bin, adapter.versionArgs) : of(undefined);
  const limitSec = Math.min(payload.runtimeConfig.timeoutSec ?? deps.timeoutCapSec, deps.timeoutCapSec);
  // One per job: a reason a line was changed is said once, whichever run of the agent printed it.
  const noteLineChange = lineChangeLog(log, jobId);
  const agentDeps = {
    ...deps,
    output: spool.output,
    instructionsPath: spool.instructionsPath,
    instructions: job.instructions,
    noteLineChange,
    onAgentStarted: (pid: number) => spool.recordAgent(pid, payload.adapterType),
  };

  const progress = (serverStop$: Observable<StopReason>): Observable<JobProgress> => {
    const stop$ = stopRequests({ deadline: startedAt + limitSec * 1000, cancel$: deps.cancel$, serverStop$, scheduler });
    const run = (runPayload: typeof payload) =>
      agentRun(runPayload, adapter, bin, stop$, agentDeps).pipe(
        tap((output) => {
          if (output.type === 'stopping') log.warn(stopMessage(output.reason, limitSec), { jobId });
        }),
      );
    // Once the server has ended the job, it refuses every batch: the rest are settled without a request.
    const serverEnded$ = merge(serverStop$.pipe(map(() => true)), of(false)).pipe(take(1));
    const send = (group: SpooledBatch[]): Observable<JobProgress> =>
      serverEnded$.pipe(
        concatMap((ended) => (ended ? EMPTY : deliverBatches(deps, spool, group))),
        tap(({ accepted }) => metrics?.eventsSent(accepted)),
        map((delivery): JobProgress => ({ kind: 'delivered', delivery })),
        finalize(() => metrics?.batchesSettled(group.length)),
      );
    return withFreshSessionRetry(run, payload, { adapter, bin, limitSec, log }).pipe(
      connect((output$) =>
        merge(
          output$.pipe(
            filter((output) => output.type === 'line'),
            map(({ event }) => event),
            spoolEvents(spool, { scheduler, noteLineChange }),
            tap(() => metrics?.batchSpooled()),
            // Live batches go as they come; what waits while a request is out goes as one request.
            coalesceWhileBusy(send, { fits: joinsRequest }),
          ),
          output$.pipe(
            filter((output) => output.type === 'ended'),
            map(({ run }): JobProgress => ({ kind: 'ended', run })),
          ),
        ),
      ),
    );
  };
  // What the server answers comes back to the agent: an answer that ends the job (409, 403 or 404 to a batch, a cancel to
  // a heartbeat) stops it. The heartbeat beats for as long as the job's progress runs.
  const progress$ = feedback(progress, (progress$) =>
    serverStops(
      progress$.pipe(
        filter((step) => step.kind === 'delivered'),
        map(({ delivery }) => delivery),
      ),
      heartbeat(jobId, deps),
      log,
      jobId,
    ),
  );

  return progress$.pipe(
    // The events the server accepted, and how the agent's run ended: known once the last batch was settled.
    reduce(countProgress, { eventsSent: 0, run: { report: {}, stderrTail: [] } }),
    concatMap(({ eventsSent, run: ended }) => {
      const { report, exit } = ended;
      const { usageLimit, ...verdict } = completionVerdict(ended, adapter, bin, limitSec, scheduler.now());
      const completion$ = from(cliVersion).pipe(
        map((version) => ({
          ...verdict,
          signal: exit?.signal ?? null,
          ...(report.costMicros !== undefined && { costMicros: report.costMicros }),
          sessionId: report.sessionId ?? null,
          ...(version !== undefined && { cliVersion: version }),
          ...(usageLimit && { usageLimit: wireUsageLimit(usageLimit) }),
        })),
      );
      return reportCompletion(deps, spool, startedAt, eventsSent, completion$).pipe(
        map((result): JobResult => ({ ...result, agent: adapter.name, ...(usageLimit && { usageLimit }) })),
      );
    }),
  );
}

/** What a job did, once its agent ended and every batch was settled. */
interface JobDone {
  eventsSent: number;
  run: AgentRunEnd;
}

function countProgress(done: JobDone, progress: JobProgress): JobDone {
  return progress.kind === 'delivered'
    ? { ...done, eventsSent: done.eventsSent + progress.delivery.accepted }
    : { ...done, run: progress.run };
}

/** Sends the completion (retried until the server answers; honest about output the server lacks), then emits the job's result. */
function reportCompletion(
  deps: JobRunnerDeps,
  spool: JobSpool,
  startedAt: number,
  eventsSent: number,
  completion$: Observable<Omit<CompletionBody, 'elapsedSec'>>,
): Observable<JobResult> {
  return defer(() => {
    const elapsedSec = Math.round(deps.scheduler.now() - startedAt) / 1000;
    return completion$.pipe(map((completion) => ({ ...completion, elapsedSec })));
  }).pipe(
    concatMap((completion) =>
      deliverCompletion(deps, spool, completion).pipe(
        map(
          (body): JobResult => ({
            jobId: spool.jobId,
            outcome: body.status,
            exitCode: body.exitCode,
            eventsSent,
            costMicros: body.costMicros,
            sessionId: body.sessionId,
            errorMessage: body.errorMessage,
            elapsedSec: body.elapsedSec,
          }),
        ),
      ),
    ),
  );
}
