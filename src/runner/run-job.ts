import { constants as osConstants } from 'node:os';
import {
  EMPTY,
  Subject,
  catchError,
  concat,
  concatMap,
  connect,
  defer,
  exhaustMap,
  filter,
  from,
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
  type SchedulerLike,
} from 'rxjs';
import { adapterFor, supportedAdapterTypes, type AgentAdapter, type RunReport } from '../agents/index.js';
import { alongside } from '../operators/alongside.js';
import { batch } from '../operators/batch.js';
import { retryBackoff, type RetryBackoffOptions } from '../operators/retryBackoff.js';
import { sequenceEvents, type EventStamp } from '../operators/sequenceEvents.js';
import { splitLines } from '../operators/splitLines.js';
import type { CompletionBody, CompletionStatus, EventKind, JobDescriptor, JobPayload, RunnerEvent } from '../protocol/types.js';
import { TokenRejectedError, type RunnerApi } from '../streams/http.js';
import { withPrivateFile } from '../streams/private-file.js';
import { SpawnError, type ProcessOutput, type ProcessSpec } from '../streams/process.js';
import type { Logger } from './logger.js';
import { checkPayload } from './payload.js';

/** Why the runner stopped an agent before it finished by itself. */
type StopReason = 'timeout' | 'shutdown' | 'server';

export interface JobResult {
  jobId: string;
  /** `lost`: another runner claimed it first; `gone`: cancelled or unknown before the claim. */
  outcome: CompletionStatus | 'lost' | 'gone';
  exitCode?: number;
  eventsSent: number;
  costMicros?: number;
  sessionId?: string | null;
  errorMessage?: string | null;
  elapsedSec?: number;
}

export interface JobRunnerDeps {
  api: RunnerApi;
  log: Logger;
  spawn: (spec: ProcessSpec) => Observable<ProcessOutput>;
  /** The binary to run for an adapter (`--claude-bin` and friends). */
  binFor: (adapter: AgentAdapter) => string;
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
  retry: Pick<RetryBackoffOptions, 'initialDelayMs' | 'maxDelayMs' | 'random'>;
  scheduler: SchedulerLike;
}

/** An event on its way to the server, with its line's size kept aside to bound request bodies. */
interface PendingEvent {
  kind: EventKind;
  payload: Record<string, unknown> | string;
  bytes: number;
}

/** Request bodies stay under this many bytes of payload, whatever the agent prints. */
const MAX_BATCH_PAYLOAD_BYTES = 1024 * 1024;
const STDERR_TAIL_LINES = 20;
const MAX_ERROR_MESSAGE_CHARS = 2000;

/**
 * One job, from claim to completion, as an Observable that emits the job's result once it is reported.
 * Claim → validate → spawn the agent → its lines become events → batches POSTed in order, each retried →
 * the completion, sent only after every batch was accepted.
 */
export function runJob(job: JobDescriptor, deps: JobRunnerDeps): Observable<JobResult> {
  return deps.api.claim(job.jobId).pipe(
    retryBackoff({ ...deps.retry, maxAttempts: 5, scheduler: deps.scheduler, onRetry: logRetry(deps.log, 'claim', job.jobId) }),
    switchMap((claim) => {
      if (claim.kind !== 'claimed') {
        deps.log.info(claim.kind === 'lost' ? 'job taken by another runner' : 'job cancelled before it could be claimed', { jobId: job.jobId });
        return of<JobResult>({ jobId: job.jobId, outcome: claim.kind, eventsSent: 0 });
      }
      return executeJob(job, claim.payload, deps);
    }),
  );
}

function executeJob(job: JobDescriptor, rawPayload: unknown, deps: JobRunnerDeps): Observable<JobResult> {
  const startedAt = deps.scheduler.now();
  const checked = checkPayload(rawPayload, job.jobId);
  if (!checked.ok) {
    const errorMessage = `malformed job payload, so no agent was started: ${checked.problems.join('; ')}. Report this to the control plane's operators.`;
    return reportCompletion(deps, job.jobId, startedAt, 0, async () => ({ status: 'failed', exitCode: -1, errorMessage }));
  }
  const adapter = adapterFor(checked.payload.adapterType);
  if (!adapter) {
    const errorMessage =
      `adapter type ${JSON.stringify(checked.payload.adapterType)} is not supported by this runner ` +
      `(it runs ${supportedAdapterTypes.join(', ')}); upgrade founderos-runner or change the agent's adapter`;
    return reportCompletion(deps, job.jobId, startedAt, 0, async () => ({ status: 'failed', exitCode: -1, errorMessage }));
  }
  return runAgent(checked.payload, adapter, startedAt, deps);
}

function runAgent(payload: JobPayload, adapter: AgentAdapter, startedAt: number, deps: JobRunnerDeps): Observable<JobResult> {
  const { jobId } = payload;
  const { log, scheduler } = deps;
  const bin = deps.binFor(adapter);
  const cliVersion = deps.cliVersion(bin, adapter.versionArgs);
  const limitSec = Math.min(payload.runtimeConfig.timeoutSec ?? deps.timeoutCapSec, deps.timeoutCapSec);

  let report: RunReport = {};
  let exit: Extract<ProcessOutput, { type: 'exit' }> | undefined;
  let spawnError: unknown;
  let stopReason: StopReason | undefined;
  let eventsSent = 0;
  const stderrTail: string[] = [];
  const serverStop$ = new Subject<StopReason>();

  const stop$ = merge(
    timer(limitSec * 1000, scheduler).pipe(map((): StopReason => 'timeout')),
    deps.cancel$.pipe(map((): StopReason => 'shutdown')),
    serverStop$,
  ).pipe(
    // A stop that comes after the agent exited by itself changes nothing.
    filter(() => exit === undefined),
    take(1),
    tap((reason) => {
      stopReason = reason;
      log.warn(stopMessage(reason, limitSec), { jobId });
    }),
  );

  const instructions = payload.runtimeConfig.instructionsFileContent ?? undefined;
  const launch = (instructionsPath?: string) => {
    const { args, stdin, env } = adapter.launch(payload, { instructionsPath, instructions });
    log.debug('spawning agent', { jobId, bin, args });
    return deps.spawn({ command: bin, args, stdin, env: { ...deps.agentEnv(jobId), ...env }, kill$: stop$, killGraceMs: deps.killGraceMs });
  };
  const output$ = instructions ? withPrivateFile('instructions.md', instructions, launch) : launch();

  const describeStdout = (line: string): PendingEvent => {
    const message = parseJsonObject(line);
    if (!message) return { kind: 'stdout_line', payload: line, bytes: line.length };
    report = adapter.report(report, message);
    return { kind: adapter.kindOf(message), payload: message, bytes: line.length };
  };
  const describeStderr = (line: string): PendingEvent => {
    if (line.trim()) stderrTail.splice(0, stderrTail.push(line) - STDERR_TAIL_LINES);
    return { kind: 'stderr_line', payload: line, bytes: line.length };
  };

  const lines$: Observable<PendingEvent> = output$.pipe(
    connect((out) =>
      merge(
        out.pipe(chunksOf('stdout'), splitLines(), map(describeStdout)),
        out.pipe(chunksOf('stderr'), splitLines(), map(describeStderr)),
        out.pipe(
          tap((event) => {
            if (event.type === 'exit') exit = event;
            if (event.type === 'started') log.debug('agent started', { jobId, pid: event.pid });
          }),
          ignoreElements(),
        ),
      ),
    ),
    catchError((error: unknown) => {
      spawnError = error;
      return EMPTY;
    }),
  );

  const send = (events: (PendingEvent & EventStamp)[]): Observable<never> => {
    // Once the server has ended the job, it refuses every batch; the agent is being stopped.
    if (stopReason === 'server') return EMPTY;
    const wire: RunnerEvent[] = events.map(({ bytes: _bytes, ...event }) => event);
    return deps.api.appendEvents(jobId, wire).pipe(
      retryBackoff({ ...deps.retry, scheduler, onRetry: logRetry(log, 'events batch', jobId) }),
      tap((outcome) => {
        if (outcome.kind === 'ok') eventsSent += wire.length;
        else {
          log.warn(outcome.kind === 'terminal' ? 'job ended on the server; stopping the agent' : 'job no longer belongs to this runner; stopping the agent', { jobId });
          serverStop$.next('server');
        }
      }),
      catchError((error: unknown) => {
        if (error instanceof TokenRejectedError) return throwError(() => error);
        log.error('server refused an events batch; skipping it', { jobId, events: wire.length, firstSeq: wire[0]?.seq, error: errorText(error) });
        return EMPTY;
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

  const delivered$ = lines$.pipe(
    sequenceEvents<PendingEvent>({ scheduler }),
    batch({ scheduler }),
    concatMap((events) => from(splitByPayloadBytes(events, MAX_BATCH_PAYLOAD_BYTES))),
    concatMap(send),
    alongside(heartbeat$),
  );

  const completion = async (): Promise<CompletionBody> => {
    const version = await cliVersion;
    const settled = settle();
    return {
      ...settled,
      signal: exit?.signal ?? null,
      ...(report.costMicros !== undefined && { costMicros: report.costMicros }),
      sessionId: report.sessionId ?? null,
      ...(version !== undefined && { cliVersion: version }),
    };
  };
  const settle = (): Pick<CompletionBody, 'status' | 'exitCode' | 'errorMessage'> => {
    if (spawnError !== undefined) {
      const missing = spawnError instanceof SpawnError && spawnError.code === 'ENOENT';
      return {
        status: 'failed',
        exitCode: 127,
        errorMessage: missing ? `${bin}: command not found; ${adapter.installHint}` : `${errorText(spawnError)}; check --${adapter.name}-bin`,
      };
    }
    const exitCode = exitCodeOf(exit);
    if (stopReason === 'timeout') return { status: 'failed', exitCode, errorMessage: stopMessage('timeout', limitSec) };
    if (stopReason) return { status: 'cancelled', exitCode, errorMessage: stopMessage(stopReason, limitSec) };
    if (exitCode === 0 && !report.reportedError) return { status: 'completed', exitCode, errorMessage: null };
    const detail = report.errorText ?? (stderrTail.length ? stderrTail.join('\n') : `${adapter.name} exited with ${describeExit(exit)}`);
    return { status: 'failed', exitCode, errorMessage: detail };
  };

  return concat(delivered$, reportCompletion(deps, jobId, startedAt, () => eventsSent, completion));
}

/** Sends the completion (retried until the server answers), then emits the job's result. */
function reportCompletion(
  deps: JobRunnerDeps,
  jobId: string,
  startedAt: number,
  eventsSent: number | (() => number),
  build: () => Promise<Omit<CompletionBody, 'elapsedSec'>>,
): Observable<JobResult> {
  return defer(async () => {
    const elapsedSec = Math.round(deps.scheduler.now() - startedAt) / 1000;
    const body = await build();
    return { ...body, elapsedSec, errorMessage: body.errorMessage?.slice(0, MAX_ERROR_MESSAGE_CHARS) ?? null };
  }).pipe(
    concatMap((body) =>
      deps.api.complete(jobId, body).pipe(
        retryBackoff({ ...deps.retry, scheduler: deps.scheduler, onRetry: logRetry(deps.log, 'completion', jobId) }),
        tap((outcome) => {
          if (outcome.kind === 'already_terminal') deps.log.info('job was already terminal on the server', { jobId });
          if (outcome.kind === 'gone') deps.log.warn('server no longer knows this job; completion not recorded', { jobId });
        }),
        catchError((error: unknown) => {
          if (error instanceof TokenRejectedError) return throwError(() => error);
          deps.log.error('server refused the completion', { jobId, error: errorText(error) });
          return of(null);
        }),
        map(
          (): JobResult => ({
            jobId,
            outcome: body.status,
            exitCode: body.exitCode,
            eventsSent: typeof eventsSent === 'function' ? eventsSent() : eventsSent,
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

function chunksOf(stream: 'stdout' | 'stderr') {
  return (source: Observable<ProcessOutput>): Observable<Buffer> =>
    source.pipe(
      filter((event): event is Extract<ProcessOutput, { type: 'stdout' | 'stderr' }> => event.type === stream),
      map((event) => event.chunk),
    );
}

/** Splits a batch so that no request body carries more than `maxBytes` of payload (a lone huge line still goes alone). */
export function splitByPayloadBytes<T extends { bytes: number }>(events: T[], maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const event of events) {
    if (current.length > 0 && size + event.bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(event);
    size += event.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function exitCodeOf(exit: Extract<ProcessOutput, { type: 'exit' }> | undefined): number {
  if (exit?.code !== null && exit?.code !== undefined) return exit.code;
  const signalNumber = exit?.signal ? osConstants.signals[exit.signal] : undefined;
  return signalNumber ? 128 + signalNumber : -1;
}

function describeExit(exit: Extract<ProcessOutput, { type: 'exit' }> | undefined): string {
  if (exit?.signal) return `signal ${exit.signal}`;
  return `code ${exitCodeOf(exit)}`;
}

function stopMessage(reason: StopReason, limitSec: number): string {
  switch (reason) {
    case 'timeout':
      return `timed out after ${limitSec} s; the agent was stopped (raise runtimeConfig.timeoutSec or --timeout-sec, at most 3600)`;
    case 'shutdown':
      return 'cancelled: the runner was told to stop now (second signal) while the job ran';
    case 'server':
      return 'cancelled on the server while the job ran';
  }
}

function logRetry(log: Logger, what: string, jobId: string) {
  return ({ error, attempt, delayMs }: { error: unknown; attempt: number; delayMs: number }) =>
    log.warn(`${what} failed; retrying`, { jobId, attempt, inMs: delayMs, error: errorText(error) });
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
