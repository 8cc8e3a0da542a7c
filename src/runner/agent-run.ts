import { constants as osConstants } from 'node:os';
import { EMPTY, catchError, connect, defer, filter, ignoreElements, map, merge, tap, type Observable } from 'rxjs';
import type { AgentAdapter, RunReport } from '../agents/index.js';
import { splitLines } from '../operators/splitLines.js';
import type { CompletionBody, JobPayload } from '../protocol/types.js';
import { withPrivateFile } from '../streams/private-file.js';
import { SpawnError, type ProcessOutput, type ProcessSpec } from '../streams/process.js';
import { stderrEvent, stdoutEvent, type PendingEvent, type ReadLine } from './line-events.js';
import type { Logger } from './logger.js';

type ExitEvent = Extract<ProcessOutput, { type: 'exit' }>;

/** What one run of the agent left behind, read once its output has ended. */
export interface AgentRunState {
  report: RunReport;
  exit?: ExitEvent;
  /** Why the agent never ran: a missing binary, or a job the adapter cannot start. */
  startError?: unknown;
  stderrTail: string[];
}

export interface AgentRunDeps {
  spawn: (spec: ProcessSpec) => Observable<ProcessOutput>;
  agentEnv: (jobId: string) => NodeJS.ProcessEnv;
  killGraceMs: number;
  log: Logger;
  /** The files the agent's stdout and stderr are written to. */
  output: ProcessSpec['output'];
  /** Told the agent's pid (its process group) as soon as it runs, so that a crashed runner's successor can stop it. */
  onAgentStarted?: (pid: number) => void;
  /** Where the job's instructions are written (mode 0600) while the agent runs: beside its spool, so recovery removes them. */
  instructionsPath: string;
  /** Says why a line was changed to be storable, once per job per reason; shared by a job's runs. */
  noteLineChange: (change: ReadLine['change']) => void;
}

/** Why the runner stopped an agent before it finished by itself. */
export type StopReason = 'timeout' | 'shutdown' | 'server';

const STDERR_TAIL_LINES = 20;

/**
 * One run of the agent: spawns it (instructions in a private file while it runs), and emits each line it
 * prints as a pending event. `state` fills in as the lines pass and is complete when the Observable completes;
 * a start failure completes it too, with `state.startError` set.
 */
export function agentRun(
  job: JobPayload,
  adapter: AgentAdapter,
  bin: string,
  kill$: Observable<unknown>,
  deps: AgentRunDeps,
): { lines$: Observable<PendingEvent>; state: AgentRunState } {
  const state: AgentRunState = { report: {}, stderrTail: [] };
  const instructions = job.runtimeConfig.instructionsFileContent ?? undefined;

  const launch = (instructionsPath?: string) =>
    defer(() => {
      const { command, args, stdin, env } = adapter.launch(job, { instructionsPath, instructions });
      deps.log.debug('spawning agent', { jobId: job.jobId, bin: command ?? bin, args });
      const spec = { command: command ?? bin, args, stdin, env: { ...deps.agentEnv(job.jobId), ...env }, output: deps.output, kill$, killGraceMs: deps.killGraceMs };
      return deps.spawn(spec);
    });
  const output$ = instructions ? withPrivateFile(deps.instructionsPath, instructions, launch) : launch();

  const describeStdout = (line: string): PendingEvent => {
    const { event, message, change } = stdoutEvent(line, adapter);
    // The adapter reads the object as printed: a lone surrogate in a result's text must not hide its session id.
    if (message) state.report = adapter.report(state.report, message);
    deps.noteLineChange(change);
    return event;
  };
  const describeStderr = (line: string): PendingEvent => {
    const { event, change } = stderrEvent(line);
    if (line.trim()) state.stderrTail.splice(0, state.stderrTail.push(event.payload as string) - STDERR_TAIL_LINES);
    deps.noteLineChange(change);
    return event;
  };

  const lines$ = output$.pipe(
    connect((out) =>
      merge(
        out.pipe(chunksOf('stdout'), splitLines(), map(describeStdout)),
        out.pipe(chunksOf('stderr'), splitLines(), map(describeStderr)),
        out.pipe(
          tap((event) => {
            if (event.type === 'exit') state.exit = event;
            if (event.type === 'started') {
              deps.log.debug('agent started', { jobId: job.jobId, pid: event.pid });
              deps.onAgentStarted?.(event.pid);
            }
          }),
          ignoreElements(),
        ),
      ),
    ),
    catchError((error: unknown) => {
      state.startError = error;
      return EMPTY;
    }),
  );
  return { lines$, state };
}

/**
 * The verdict on a finished run. The agent's own final report comes first (several CLIs exit 0 after an
 * error), then the exit code, then stderr; a stop the runner caused says why.
 */
export function settleRun(
  state: AgentRunState,
  stopReason: StopReason | undefined,
  adapter: AgentAdapter,
  bin: string,
  limitSec: number,
): Pick<CompletionBody, 'status' | 'exitCode' | 'errorMessage'> {
  const { startError, exit, report, stderrTail } = state;
  if (startError !== undefined) {
    if (!(startError instanceof SpawnError)) return { status: 'failed', exitCode: -1, errorMessage: `the job cannot start: ${errorText(startError)}` };
    const missing = startError.code === 'ENOENT';
    return {
      status: 'failed',
      exitCode: 127,
      errorMessage: missing ? `${bin}: command not found; ${adapter.installHint}` : `${startError.message}; check --${adapter.name}-bin`,
    };
  }
  const exitCode = exitCodeOf(exit);
  if (stopReason === 'timeout') return { status: 'failed', exitCode, errorMessage: stopMessage('timeout', limitSec) };
  if (stopReason) return { status: 'cancelled', exitCode, errorMessage: stopMessage(stopReason, limitSec) };
  if (exitCode === 0 && !report.reportedError) return { status: 'completed', exitCode, errorMessage: null };
  const detail = report.errorText ?? (stderrTail.length ? stderrTail.join('\n') : `${adapter.name} exited with ${describeExit(exit)}`);
  return { status: 'failed', exitCode, errorMessage: detail };
}

export function stopMessage(reason: StopReason, limitSec: number): string {
  switch (reason) {
    case 'timeout':
      return `timed out after ${limitSec} s; the agent was stopped (raise runtimeConfig.timeoutSec or --timeout-sec, at most 3600)`;
    case 'shutdown':
      return 'cancelled: the runner was told to stop now (second signal) while the job ran';
    case 'server':
      return 'cancelled on the server while the job ran';
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function chunksOf(stream: 'stdout' | 'stderr') {
  return (source: Observable<ProcessOutput>): Observable<Buffer> =>
    source.pipe(
      filter((event): event is Extract<ProcessOutput, { type: 'stdout' | 'stderr' }> => event.type === stream),
      map((event) => event.chunk),
    );
}

function exitCodeOf(exit: ExitEvent | undefined): number {
  if (exit?.code !== null && exit?.code !== undefined) return exit.code;
  const signalNumber = exit?.signal ? osConstants.signals[exit.signal] : undefined;
  return signalNumber ? 128 + signalNumber : -1;
}

function describeExit(exit: ExitEvent | undefined): string {
  return exit?.signal ? `signal ${exit.signal}` : `code ${exitCodeOf(exit)}`;
}
