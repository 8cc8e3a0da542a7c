import {
  EMPTY,
  Subject,
  catchError,
  concat,
  concatMap,
  defer,
  exhaustMap,
  filter,
  ignoreElements,
  map,
  merge,
  of,
  switchMap,
  take,
  takeWhile,
  tap,
  throwError,
  timer,
  type Observable,
} from 'rxjs';
import { adapterFor, processAdapter, supportedAdapterTypes, type AgentAdapter } from '../agents/index.js';
import { alongside } from '../operators/alongside.js';
import { retryBackoff } from '../operators/retryBackoff.js';
import type { CompletionBody, CompletionStatus, JobDescriptor, JobPayload } from '../protocol/types.js';
import { TokenRejectedError, type ClaimOutcome } from '../streams/http.js';
import type { JobSpool } from '../streams/spool.js';
import { deliverBatch, deliverCompletion, logRetry, type DeliveryDeps } from './delivery.js';
import type { ProcessOutput, ProcessSpec } from '../streams/process.js';
import { agentRun, errorText, settleRun, stopMessage, type StopReason } from './agent-run.js';
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
  cliVersion: (bin: string, args: readonly string[]) => Promise<string | undefined>;
  /** The agent's environment: the runner's own, without its secrets. */
  agentEnv: (jobId: string) => NodeJS.ProcessEnv;
  timeoutCapSec: number;
  killGraceMs: number;
  heartbeatMs: number;
  /** Shared across jobs: a server that answered 404 to a heartbeat is not asked again. */
  heartbeatSupport: { supported: boolean };
  /** Emits when the user asks, by a second signal, to stop the running job now. */
  cancel$: Observable<unknown>;
  /** Opens the job's durable spool, where batches and the completion wait until the server accepts them. */
  openSpool: (jobId: string) => JobSpool;
}

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
    catchError((error: unknown) => (error instanceof TokenRejectedError ? throwError(() => error) : of({ kind: 'unclaimed' as const, error }))),
    switchMap((claim) => {
      if (claim.kind === 'unclaimed') {
        const errorMessage = errorText(claim.error);
        deps.log.warn('could not claim the job; going back to polling', { jobId, error: errorMessage });
        return of<JobResult>({ jobId, outcome: 'unclaimed', eventsSent: 0, errorMessage });
      }
      if (claim.kind === 'lost' || claim.kind === 'gone') {
        deps.log.info(claim.kind === 'lost' ? 'job taken by another runner' : 'job cancelled before it could be claimed', { jobId });
        return of<JobResult>({ jobId, outcome: claim.kind, eventsSent: 0 });
      }
      return executeJob(claim, deps.openSpool(jobId), deps);
    }),
  );
}

function executeJob(claim: Extract<ClaimOutcome, { kind: 'claimed' | 'malformed' }>, spool: JobSpool, deps: JobRunnerDeps): Observable<JobResult> {
  const startedAt = deps.scheduler.now();
  if (claim.kind === 'malformed') {
    return refuse(
      `malformed job payload${claim.requestId ? ` (requestId ${claim.requestId})` : ''}, so no agent was started: ${claim.problems.join('; ')}. ` +
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
    return reportCompletion(deps, spool, startedAt, () => 0, async () => ({ status: 'failed', exitCode: -1, errorMessage }));
  }
}

function runAgent(payload: JobPayload, adapter: AgentAdapter, spool: JobSpool, startedAt: number, deps: JobRunnerDeps): Observable<JobResult> {
  const { jobId } = payload;
  const { log, scheduler } = deps;
  const bin = deps.binFor(adapter);
  const cliVersion = adapter.versionArgs.length ? deps.cliVersion(bin, adapter.versionArgs) : Promise.resolve(undefined);
  const limitSec = Math.min(payload.runtimeConfig.timeoutSec ?? deps.timeoutCapSec, deps.timeoutCapSec);

  let stopReason: StopReason | undefined;
  let eventsSent = 0;
  const serverStop$ = new Subject<StopReason>();
  // One per job: a reason a line was changed is said once, whichever run of the agent printed it.
  const noteLineChange = lineChangeLog(log, jobId);
  const agentDeps = {
    ...deps,
    output: spool.output,
    instructionsPath: spool.instructionsPath,
    noteLineChange,
    onAgentStarted: (pid: number) => spool.recordAgent(pid, payload.adapterType),
  };
  let run = agentRun(payload, adapter, bin, stop$(), agentDeps);

  function stop$(): Observable<StopReason> {
    return merge(
      // An absolute deadline: a retried run does not get a fresh allowance.
      timer(new Date(startedAt + limitSec * 1000), scheduler).pipe(map((): StopReason => 'timeout')),
      deps.cancel$.pipe(map((): StopReason => 'shutdown')),
      serverStop$,
    ).pipe(
      // A stop that comes after the agent exited by itself changes nothing.
      filter(() => run.state.exit === undefined),
      take(1),
      tap((reason) => {
        stopReason = reason;
        log.warn(stopMessage(reason, limitSec), { jobId });
      }),
    );
  }

  // A resume of a session the CLI no longer knows fails at once: run again, once, in a fresh session.
  const freshSessionRun$ = defer(() => {
    const first = run.state;
    const retry =
      payload.sessionId && !stopReason && first.startError === undefined && settleRun(first, undefined, adapter, bin, limitSec).status === 'failed' &&
      adapter.isUnknownSession?.(first.report, first.stderrTail);
    if (!retry) return EMPTY;
    log.warn('the agent does not know the session to resume; running again in a fresh session', { jobId, sessionId: payload.sessionId });
    run = agentRun({ ...payload, sessionId: null }, adapter, bin, stop$(), agentDeps);
    return run.lines$;
  });

  const send = ({ index, size }: SpooledBatch): Observable<never> => {
    const settled = () => deps.metrics && deps.metrics.spoolBacklog--;
    // Once the server has ended the job, it refuses every batch; the agent is being stopped.
    if (stopReason === 'server') return (settled(), EMPTY);
    return deliverBatch(deps, spool, index).pipe(
      tap((outcome) => {
        settled();
        if (outcome.kind === 'ok') {
          eventsSent += size;
          if (deps.metrics) deps.metrics.eventsSent += size;
        }
        if (outcome.kind === 'terminal' || outcome.kind === 'gone') {
          log.warn(outcome.kind === 'terminal' ? 'job ended on the server; stopping the agent' : 'job no longer belongs to this runner; stopping the agent', { jobId });
          serverStop$.next('server');
        }
      }),
      ignoreElements(),
    );
  };

  const heartbeat$ = deps.heartbeatSupport.supported
    ? timer(deps.heartbeatMs, deps.heartbeatMs, scheduler).pipe(
        exhaustMap(() =>
          deps.api.heartbeat(jobId).pipe(
            catchError((error: unknown) => {
              if (error instanceof TokenRejectedError) return throwError(() => error);
              log.debug('heartbeat failed; trying again at the next beat', { jobId, error: errorText(error) });
              return EMPTY;
            }),
          ),
        ),
        tap((outcome) => {
          if (outcome.kind === 'cancelled') serverStop$.next('server');
          if (outcome.kind === 'unsupported') deps.heartbeatSupport.supported = false;
        }),
        takeWhile((outcome) => outcome.kind === 'ok'),
      )
    : EMPTY;

  const delivered$ = concat(run.lines$, freshSessionRun$).pipe(
    spoolEvents(spool, { scheduler, noteLineChange }),
    tap(() => deps.metrics && deps.metrics.spoolBacklog++),
    concatMap(send),
    alongside(heartbeat$),
  );

  const completion = async (): Promise<Omit<CompletionBody, 'elapsedSec'>> => {
    const version = await cliVersion;
    const { report, exit } = run.state;
    return {
      ...settleRun(run.state, stopReason, adapter, bin, limitSec),
      signal: exit?.signal ?? null,
      ...(report.costMicros !== undefined && { costMicros: report.costMicros }),
      sessionId: report.sessionId ?? null,
      ...(version !== undefined && { cliVersion: version }),
    };
  };

  return concat(delivered$, reportCompletion(deps, spool, startedAt, () => eventsSent, completion));
}

/** Sends the completion (retried until the server answers; honest about output the server lacks), then emits the job's result. */
function reportCompletion(
  deps: JobRunnerDeps,
  spool: JobSpool,
  startedAt: number,
  eventsSent: () => number,
  build: () => Promise<Omit<CompletionBody, 'elapsedSec'>>,
): Observable<JobResult> {
  return defer(async () => {
    const elapsedSec = Math.round(deps.scheduler.now() - startedAt) / 1000;
    return { ...(await build()), elapsedSec };
  }).pipe(
    concatMap((completion) =>
      deliverCompletion(deps, spool, completion).pipe(
        map(
          (body): JobResult => ({
            jobId: spool.jobId,
            outcome: body.status,
            exitCode: body.exitCode,
            eventsSent: eventsSent(),
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
