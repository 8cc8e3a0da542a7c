import { constants as osConstants } from 'node:os';
import { catchError, connect, defer, endWith, filter, map, merge, of, reduce, share, take, takeUntil, tap, type Observable } from 'rxjs';
import type { AgentAdapter, RunReport, UsageLimit } from '../agents/index.js';
import { splitLines } from '../operators/splitLines.js';
import type { CompletionBody, JobPayload } from '../protocol/types.js';
import { withPrivateFile } from '../streams/private-file.js';
import { SpawnError, type ProcessOutput, type ProcessSpec } from '../streams/process.js';
import { usageLimitMessage } from './usage-limits.js';
import { stderrEvent, stdoutEvent, type PendingEvent, type ReadLine } from './line-events.js';
import { errorText } from './error-text.js';
import type { Logger } from './logger.js';
import { stopMessage, type StopReason } from './stops.js';

type ExitEvent = Extract<ProcessOutput, { type: 'exit' }>;

/** What one run of the agent left behind: its last value, once its output has ended. */
export interface AgentRunEnd {
  report: RunReport;
  exit?: ExitEvent;
  /** Why the agent never ran (a missing binary, a job the adapter cannot start), or why its output could not be read. */
  startError?: unknown;
  stderrTail: readonly string[];
  /** Why the runner stopped the agent: the first stop asked for before it exited by itself. */
  stopReason?: StopReason;
}

/** A run of the agent emits each line it prints as a pending event, that it is being stopped and why, then, last, how it ended. */
export type AgentRunOutput =
  | { type: 'line'; event: PendingEvent }
  | { type: 'stopping'; reason: StopReason }
  | { type: 'ended'; run: AgentRunEnd };

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
  /** The job's instructions, as the bytes of that file. */
  instructions?: Buffer;
  /** Says why a line was changed to be storable, once per job per reason; shared by a job's runs. */
  noteLineChange: (change: ReadLine['change']) => void;
}

const STDERR_TAIL_LINES = 20;

/** One thing that happened in a run, in the order it was read. */
type RunStep =
  | { kind: 'stdout'; read: ReadLine }
  | { kind: 'stderr'; read: ReadLine }
  | { kind: 'exit'; exit: ExitEvent }
  | { kind: 'stop'; reason: StopReason }
  | { kind: 'failed'; error: unknown };

/**
 * One run of the agent: spawns it (instructions in a private file while it runs), and emits each line it prints as
 * a `line`, then an `ended` value with its exit, the adapter's report, the tail of its stderr and, when `stop$` asked
 * for a stop before the agent exited by itself, why. Such a stop is also emitted as `stopping` when it comes, and asks
 * the process group to end (SIGTERM, then SIGKILL after the grace period); a start failure ends the run too, with
 * `startError` set.
 */
export function agentRun(
  job: JobPayload,
  adapter: AgentAdapter,
  bin: string,
  stop$: Observable<StopReason>,
  deps: AgentRunDeps,
): Observable<AgentRunOutput> {
  const instructions = deps.instructions?.length ? deps.instructions : undefined;
  // One stop request, seen both by the process (to end it) and by the run's fold (to say why).
  const stopRequest$ = stop$.pipe(take(1), share());

  const launch = (instructionsPath?: string) =>
    defer(() => {
      const { command, args, stdin, env } = adapter.launch(job, { instructionsPath, instructions: instructions?.toString('utf8') });
      deps.log.debug('spawning agent', { jobId: job.jobId, bin: command ?? bin, args });
      const spec = {
        command: command ?? bin,
        args,
        stdin,
        env: { ...deps.agentEnv(job.jobId), ...env },
        output: deps.output,
        kill$: stopRequest$,
        killGraceMs: deps.killGraceMs,
      };
      return deps.spawn(spec);
    });
  const output$ = instructions ? withPrivateFile(deps.instructionsPath, instructions, launch) : launch();

  const steps$: Observable<RunStep> = output$.pipe(
    connect((out) =>
      merge(
        out.pipe(
          chunksOf('stdout'),
          splitLines(),
          map((line): RunStep => ({ kind: 'stdout', read: stdoutEvent(line, adapter) })),
        ),
        out.pipe(
          chunksOf('stderr'),
          splitLines(),
          map((line): RunStep => ({ kind: 'stderr', read: stderrEvent(line) })),
        ),
        out.pipe(
          tap((event) => {
            if (event.type !== 'started') return;
            deps.log.debug('agent started', { jobId: job.jobId, pid: event.pid });
            deps.onAgentStarted?.(event.pid);
          }),
          filter((event): event is ExitEvent => event.type === 'exit'),
          map((exit): RunStep => ({ kind: 'exit', exit })),
        ),
        // A stop that comes after the agent exited by itself changes nothing.
        stopRequest$.pipe(
          takeUntil(
            out.pipe(
              filter((event) => event.type === 'exit'),
              endWith(null),
            ),
          ),
          map((reason): RunStep => ({ kind: 'stop', reason })),
        ),
      ),
    ),
    catchError((error: unknown) => of<RunStep>({ kind: 'failed', error })),
    tap((step) => {
      if (step.kind === 'stdout' || step.kind === 'stderr') deps.noteLineChange(step.read.change);
    }),
  );

  return steps$.pipe(
    connect((step$) =>
      merge(
        step$.pipe(
          map(outputOf),
          filter((output) => output !== undefined),
        ),
        step$.pipe(
          reduce<RunStep, AgentRunEnd>((run, step) => foldStep(run, step, adapter), { report: {}, stderrTail: [] }),
          map((run): AgentRunOutput => ({ type: 'ended', run })),
        ),
      ),
    ),
  );
}

/** What a step shows of the run as it goes: its lines, and a stop (a map and a filter: no inner subscription per line). */
function outputOf(step: RunStep): AgentRunOutput | undefined {
  if (step.kind === 'stdout' || step.kind === 'stderr') return { type: 'line', event: step.read.event };
  if (step.kind === 'stop') return { type: 'stopping', reason: step.reason };
  return undefined;
}

/** The run so far, with one more step. */
function foldStep(run: AgentRunEnd, step: RunStep, adapter: AgentAdapter): AgentRunEnd {
  switch (step.kind) {
    case 'stdout': {
      // The adapter reads the object as printed: a lone surrogate in a result's text must not hide its session id.
      const report = step.read.message ? adapter.report(run.report, step.read.message) : run.report;
      // Most lines change nothing: no copy of the run per line.
      return report === run.report ? run : { ...run, report };
    }
    case 'stderr': {
      const text = step.read.event.payload as string;
      return text.trim() ? { ...run, stderrTail: [...run.stderrTail, text].slice(-STDERR_TAIL_LINES) } : run;
    }
    case 'exit':
      return { ...run, exit: step.exit };
    case 'stop':
      return { ...run, stopReason: step.reason };
    case 'failed':
      return { ...run, startError: step.error };
  }
}

/**
 * The verdict on a finished run. The agent's own final report comes first (several CLIs exit 0 after an
 * error), then the exit code, then stderr; a stop the runner caused says why.
 */
export function runVerdict(
  run: AgentRunEnd,
  adapter: AgentAdapter,
  bin: string,
  limitSec: number,
): Pick<CompletionBody, 'status' | 'exitCode' | 'errorMessage'> {
  const { startError, exit, report, stderrTail, stopReason } = run;
  if (startError !== undefined) {
    if (!(startError instanceof SpawnError))
      return { status: 'failed', exitCode: -1, errorMessage: `the job cannot start: ${errorText(startError)}` };
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

/**
 * The run's verdict as its job's completion reports it: a failure the agent met on a usage limit names the limit and
 * says so in its message, with when the limit resets if the CLI said (a time it gave relative to the moment is read
 * at `now`).
 */
export function completionVerdict(
  run: AgentRunEnd,
  adapter: AgentAdapter,
  bin: string,
  limitSec: number,
  now: number,
): Pick<CompletionBody, 'status' | 'exitCode' | 'errorMessage'> & { usageLimit?: UsageLimit } {
  const verdict = runVerdict(run, adapter, bin, limitSec);
  const agentFailed = verdict.status === 'failed' && run.startError === undefined && !run.stopReason;
  const usageLimit = agentFailed ? adapter.usageLimit?.(run.report, run.stderrTail, now) : undefined;
  return usageLimit ? { ...verdict, errorMessage: usageLimitMessage(usageLimit, verdict.errorMessage ?? ''), usageLimit } : verdict;
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
