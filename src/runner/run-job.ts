import {
  EMPTY,
  ReplaySubject,
  concatMap,
  connect,
  defer,
  exhaustMap,
  filter,
  finalize,
  from,
  map,
  merge,
  of,
  reduce,
  switchMap,
  take,
  takeWhile,
  tap,
  timer,
  type Observable,
  type ObservableInput,
} from 'rxjs';
import { adapterFor, processAdapter, supportedAdapterTypes, type AgentAdapter } from '../agents/index.js';
import { alongside } from '../operators/alongside.js';
import { coalesceWhileBusy } from '../operators/coalesceWhileBusy.js';
import { recoverUnless } from '../operators/recoverUnless.js';
import { retryBackoff } from '../operators/retryBackoff.js';
import type { CompletionBody, CompletionStatus, JobDescriptor, JobPayload } from '../protocol/types.js';
import type { ClaimOutcome } from '../streams/http/runner-api.js';
import type { JobSpool } from '../streams/spool.js';
import { deliverBatches, deliverCompletion, endsJob, joinsRequest, logRetry, type DeliveryDeps } from './delivery.js';
import type { ProcessOutput, ProcessSpec } from '../streams/process.js';
import { agentRun, settleRun, stopMessage, type AgentRunEnd, type AgentRunOutput, type StopReason } from './agent-run.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import { lineChangeLog } from './line-events.js';
import { spoolEvents, type SpooledBatch } from './spool-events.js';

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
  /** Shared across jobs: a server that answered 404 to a heartbeat is not asked again. */
  heartbeatRoute: HeartbeatRoute;
  /** Emits when the user asks, by a second signal, to stop the running job now. */
  cancel$: Observable<unknown>;
  /** Opens the job's durable spool, where batches and the completion wait until the server accepts them. */
  openSpool: (jobId: string) => JobSpool;
}

/** Whether the server has the heartbeat route: yes until it answers that it lacks it, then no, for the daemon's life. */
export class HeartbeatRoute {
  #available = true;

  get available(): boolean {
    return this.#available;
  }

  lacking(): void {
    this.#available = false;
  }
}

/** What a running job has done so far: a batch the server accepted, or the agent's run ended. */
type JobProgress = { kind: 'sent'; events: number } | { kind: 'ended'; run: AgentRunEnd };

/**
 * One job, from claim to completion, as an Observable that emits the job's result once it is reported.
 * Claim → validate → spawn the agent → its lines become events → batches POSTed in order, each retried →
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
  if (claim.kind === 'malformed') {
    const requestId = claim.requestId ? ` (requestId ${claim.requestId})` : '';
    return refuse(
      `malformed job payload${requestId}, so no agent was started: ${claim.problems.join('; ')}. ` +
        "Report this to the control plane's operators.",
    );
  }
  const { payload } = claim;
  const adapter = adapterFor(payload.adapterType);
  if (!adapter) {
    return refuse(
      `adapter type ${JSON.stringify(payload.adapterType)} is not supported by this runner ` +
        `(it runs ${supportedAdapterTypes.join(', ')}); upgrade founderos-runner or change the agent's adapter`,
    );
  }
  if (adapter === processAdapter && !deps.allowProcessJobs) {
    return refuse(
      'this runner does not run process jobs, which name the program to run; ' +
        'its owner can allow them with --allow-process-jobs (or FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS=1)',
    );
  }
  return runAgent(payload, adapter, spool, startedAt, deps);

  function refuse(errorMessage: string): Observable<JobResult> {
    return reportCompletion(deps, spool, startedAt, 0, of({ status: 'failed' as const, exitCode: -1, errorMessage }));
  }
}

function runAgent(
  payload: JobPayload,
  adapter: AgentAdapter,
  spool: JobSpool,
  startedAt: number,
  deps: JobRunnerDeps,
): Observable<JobResult> {
  const { jobId } = payload;
  const { log, scheduler, metrics } = deps;
  const bin = deps.binFor(adapter);
  // Asked now, so that the answer is there by the end of the run.
  const cliVersion = adapter.versionArgs.length ? deps.cliVersion(bin, adapter.versionArgs) : of(undefined);
  const limitSec = Math.min(payload.runtimeConfig.timeoutSec ?? deps.timeoutCapSec, deps.timeoutCapSec);

  // What the server answers (409 or 404 to a batch, a cancel to a heartbeat) stops the agent whose lines it was sent.
  // Replayed: a run of the agent or a batch that comes after the server ended the job is told so at once.
  const serverStop$ = new ReplaySubject<StopReason>(1);
  const stop$ = merge(
    // An absolute deadline: a retried run does not get a fresh allowance.
    timer(new Date(startedAt + limitSec * 1000), scheduler).pipe(map((): StopReason => 'timeout')),
    deps.cancel$.pipe(map((): StopReason => 'shutdown')),
    serverStop$,
  );
  // One per job: a reason a line was changed is said once, whichever run of the agent printed it.
  const noteLineChange = lineChangeLog(log, jobId);
  const agentDeps = {
    ...deps,
    output: spool.output,
    instructionsPath: spool.instructionsPath,
    noteLineChange,
    onAgentStarted: (pid: number) => spool.recordAgent(pid, payload.adapterType),
  };
  const run = (job: JobPayload) =>
    agentRun(job, adapter, bin, stop$, agentDeps).pipe(
      tap((output) => {
        if (output.type === 'stopping') log.warn(stopMessage(output.reason, limitSec), { jobId });
      }),
    );

  // A resume of a session the CLI no longer knows fails at once: run again, once, in a fresh session. Only the first
  // run's end (its last value) is so replaced, and the fresh run follows it.
  const needsFreshRun = (output: AgentRunOutput): boolean =>
    output.type === 'ended' &&
    Boolean(payload.sessionId) &&
    !output.run.stopReason &&
    output.run.startError === undefined &&
    settleRun(output.run, adapter, bin, limitSec).status === 'failed' &&
    adapter.isUnknownSession?.(output.run.report, output.run.stderrTail) === true;
  const runs$ = run(payload).pipe(
    connect((first$) =>
      merge(
        first$.pipe(filter((output) => !needsFreshRun(output))),
        first$.pipe(
          filter(needsFreshRun),
          concatMap(() => {
            log.warn('the agent does not know the session to resume; running again in a fresh session', {
              jobId,
              sessionId: payload.sessionId,
            });
            return run({ ...payload, sessionId: null });
          }),
        ),
      ),
    ),
  );

  // Once the server has ended the job, it refuses every batch: the rest are settled without a request. (A stop the
  // server sent is replayed on subscription, before the `false`.)
  const serverEnded$ = merge(serverStop$.pipe(map(() => true)), of(false)).pipe(take(1));
  const send = (group: SpooledBatch[]): Observable<JobProgress> =>
    serverEnded$.pipe(
      concatMap((ended) => (ended ? EMPTY : deliverBatches(deps, spool, group))),
      tap((delivery) => {
        if (!endsJob(delivery)) return;
        log.warn(
          delivery.outcome.kind === 'job_ended'
            ? 'job ended on the server; stopping the agent'
            : 'job no longer belongs to this runner; stopping the agent',
          { jobId },
        );
        serverStop$.next('server');
      }),
      filter(({ outcome }) => outcome.kind === 'accepted'),
      tap(({ accepted }) => metrics?.eventsSent(accepted)),
      map(({ accepted }): JobProgress => ({ kind: 'sent', events: accepted })),
      finalize(() => metrics?.batchesSettled(group.length)),
    );

  const heartbeat$ = deps.heartbeatRoute.available
    ? timer(deps.heartbeatMs, deps.heartbeatMs, scheduler).pipe(
        exhaustMap(() =>
          deps.api.heartbeat(jobId).pipe(
            recoverUnless(isFatal, (error) => {
              log.debug('heartbeat failed; trying again at the next beat', { jobId, error: errorText(error) });
              return EMPTY;
            }),
          ),
        ),
        tap((outcome) => {
          if (outcome.kind === 'job_ended' || outcome.kind === 'job_gone') serverStop$.next('server');
          if (outcome.kind === 'route_missing') deps.heartbeatRoute.lacking();
        }),
        takeWhile((outcome) => outcome.kind === 'accepted'),
      )
    : EMPTY;

  const progress$ = runs$.pipe(
    connect((output$) =>
      merge(
        output$.pipe(
          filter((output) => output.type === 'line'),
          map(({ event }) => event),
          spoolEvents(spool, { scheduler, noteLineChange }),
          tap(() => metrics?.batchSpooled()),
          // Live batches go as they come; what waits while a request is out goes as one request.
          coalesceWhileBusy(send, { fits: joinsRequest }),
          alongside(heartbeat$),
        ),
        output$.pipe(
          filter((output) => output.type === 'ended'),
          map(({ run }): JobProgress => ({ kind: 'ended', run })),
        ),
      ),
    ),
    // The events the server accepted, and how the agent's run ended: known once the last batch was settled.
    reduce(countProgress, { eventsSent: 0, run: { report: {}, stderrTail: [] } }),
  );

  return progress$.pipe(
    concatMap(({ eventsSent, run: ended }) => {
      const { report, exit } = ended;
      const completion$ = from(cliVersion).pipe(
        map((version) => ({
          ...settleRun(ended, adapter, bin, limitSec),
          signal: exit?.signal ?? null,
          ...(report.costMicros !== undefined && { costMicros: report.costMicros }),
          sessionId: report.sessionId ?? null,
          ...(version !== undefined && { cliVersion: version }),
        })),
      );
      return reportCompletion(deps, spool, startedAt, eventsSent, completion$);
    }),
  );
}

/** What a job did, once its agent ended and every batch was settled. */
interface JobDone {
  eventsSent: number;
  run: AgentRunEnd;
}

function countProgress(done: JobDone, progress: JobProgress): JobDone {
  return progress.kind === 'sent' ? { ...done, eventsSent: done.eventsSent + progress.events } : { ...done, run: progress.run };
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
