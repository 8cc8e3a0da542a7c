import { filter, map, pairwise, startWith, tap, type Observable, type SchedulerLike } from 'rxjs';
import { adapterFor, adapterTypesOf, agentClis, type UsageLimit } from '../agents/index.js';
import { pausesByKey, type PauseSignal } from '../operators/pausesByKey.js';
import type { CompletionBody, JobDescriptor } from '../protocol/types.js';
import type { RecordedPause } from '../streams/pause-file.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * The daemon's side of usage limits (docs/usage-limits.md): which agent CLI a finished job tells about, the pauses
 * that follow (pausesByKey), what the long-poll then excludes, which offered jobs stay queued, and how a pause is
 * told: one log line, the metrics, the pause file.
 */

/** How much of the message of the job that hit a limit the pause file keeps, as the pause's reason. */
const REASON_CHARS = 500;

/** How long a Part-1 server keeps a queued job (the protocol: at most 30 min from queueing). */
export const PART1_JOB_LIFE_MS = 30 * 60_000;

/** What the daemon needs of a job's result to learn from it. */
export interface LimitedResult {
  outcome: string;
  /** The agent CLI the claimed job needed (its adapter's name), when the runner knows it. */
  agent?: string;
  /** The usage limit its agent ran into. */
  usageLimit?: UsageLimit;
  errorMessage?: string | null;
}

/** Where a pause comes from, for the pause file and doctor. */
export interface PauseNote {
  since: number;
  reason: string;
}

export interface UsagePauseOptions {
  /** The first pause after a limit that states no reset (default a minute); it doubles up to `maxPauseMs`. */
  initialPauseMs?: number;
  /** The longest such pause (default an hour). */
  maxPauseMs?: number;
  /**
   * The longest pause whatever reset a CLI states (default 7 days, a weekly window): a later reset (a monthly spend cap)
   * costs one job a week, and an agent that prints a limit's words (it can reach its CLI's stderr) cannot stop this
   * runner's jobs of that CLI for longer.
   */
  longestPauseMs?: number;
  /** How long the poll waits after an offered job it leaves queued, before polling again (default 10 s). */
  leftJobWaitMs?: number;
  /** The pauses a previous run of the runner left (the pause file); those still ahead go on. */
  restored?: Readonly<Record<string, RecordedPause>>;
  /** Keeps the pauses in force, whenever they change (the pause file). */
  record?: (pauses: Record<string, RecordedPause>) => void;
}

/** What a finished job says of its agent CLI: it hit a usage limit (until its reset, if stated), or it got through. */
export function pauseSignalOf(result: LimitedResult): PauseSignal | undefined {
  if (result.agent === undefined) return undefined;
  if (result.usageLimit) return { key: result.agent, limited: true, until: result.usageLimit.resetsAt };
  return result.outcome === 'completed' ? { key: result.agent, limited: false } : undefined;
}

/** The adapter types the runner is not taking while these agent CLIs are paused, in a stable order. */
export function excludedAdapterTypes(pauses: ReadonlyMap<string, number>): string[] {
  return agentClis.filter((adapter) => pauses.has(adapter.name)).flatMap(adapterTypesOf);
}

/**
 * Whether to leave an offered job in the queue rather than claim it: its CLI is paused. The CLI is the descriptor's
 * `adapterType` (Part 2), else the one an earlier claim of the same agent showed (`knownAgent`). On a server without
 * the extension, a job whose pause outlasts its life there (30 min from queueing) is claimed all the same, to be
 * given back at once as a usage limit: it could not run in time, and this way the user learns why.
 */
export function leavesQueued(
  job: JobDescriptor,
  pauses: ReadonlyMap<string, number>,
  knownAgent: (agentId: string) => string | undefined,
): boolean {
  const agent = job.adapterType !== undefined ? adapterFor(job.adapterType)?.name : job.agentId && knownAgent(job.agentId);
  const until = agent ? pauses.get(agent) : undefined;
  if (until === undefined) return false;
  if (job.adapterType !== undefined) return true;
  const queuedAt = Date.parse(job.createdAt ?? '');
  return !(queuedAt + PART1_JOB_LIFE_MS < until);
}

/** A usage limit as the completion carries it: its reset as an ISO time, null when the CLI gave none. */
export function wireUsageLimit(limit: UsageLimit): NonNullable<CompletionBody['usageLimit']> {
  return { resetsAt: limit.resetsAt === undefined ? null : new Date(limit.resetsAt).toISOString() };
}

/**
 * What a job that ended on a usage limit reports: that it did, when the limit resets (UTC) or that the CLI did not
 * say, then the CLI's own words. It reads the same whatever the CLI, so that a person or a dashboard can tell.
 */
export function usageLimitMessage(limit: UsageLimit, detail: string): string {
  const reset = limit.resetsAt === undefined ? 'the CLI gave no reset time' : `resets at ${new Date(limit.resetsAt).toISOString()}`;
  return `usage limit reached (${reset}): ${detail}`;
}

/**
 * The agent CLIs paused now, from the jobs' results: each result that tells about its CLI is a pause signal (after the
 * pauses a previous run left), and every change is told once: a log line when a pause starts or moves (until when)
 * and when it ends, the metrics' gauge, the pause file.
 */
export function usagePauses(
  results$: Observable<LimitedResult>,
  options: UsagePauseOptions,
  context: { log: Logger; metrics?: Metrics; scheduler: SchedulerLike },
): Observable<ReadonlyMap<string, number>> {
  const { log, metrics, scheduler } = context;
  const notes = new Map<string, PauseNote>();
  // A pause a previous run left goes on until its end; one that has ended is over (not a limit to back off from).
  const restored = Object.entries(options.restored ?? {})
    .filter(([, pause]) => Date.parse(pause.until) > scheduler.now())
    .map(([agent, pause]): PauseSignal => {
      notes.set(agent, { since: Date.parse(pause.since), reason: pause.reason });
      return { key: agent, limited: true, until: Date.parse(pause.until) };
    });
  const noteLimit = (result: LimitedResult) => {
    if (result.agent === undefined || !result.usageLimit) return;
    metrics?.usageLimitHit(result.agent);
    notes.set(result.agent, { since: scheduler.now(), reason: (result.errorMessage ?? 'usage limit reached').slice(0, REASON_CHARS) });
  };
  const longestPauseMs = options.longestPauseMs ?? 7 * 24 * 3600_000;
  const capped = (signal: PauseSignal): PauseSignal =>
    signal.limited && signal.until !== undefined ? { ...signal, until: Math.min(signal.until, scheduler.now() + longestPauseMs) } : signal;
  const tell = ([before, after]: [ReadonlyMap<string, number>, ReadonlyMap<string, number>]) => {
    const now = scheduler.now();
    for (const [agent, until] of after) {
      if (before.get(agent) === until) continue;
      log.warn(`${agent} hit a usage limit: taking no ${agent} jobs until ${pauseEndText(until, now)}; jobs for other agent CLIs go on`, {
        agent,
        until: new Date(until).toISOString(),
      });
    }
    for (const agent of before.keys()) {
      if (!after.has(agent)) log.info(`${agent}: the usage-limit pause is over; taking ${agent} jobs again`, { agent });
    }
    metrics?.pausesChanged(after);
    options.record?.(recordedPauses(after, notes, now));
  };
  const signals$ = results$.pipe(
    tap(noteLimit),
    map(pauseSignalOf),
    filter((signal): signal is PauseSignal => signal !== undefined),
    startWith(...restored),
    map(capped),
  );
  return signals$.pipe(
    pausesByKey({ initialPauseMs: options.initialPauseMs, maxPauseMs: options.maxPauseMs, scheduler }),
    startWith(new Map<string, number>()),
    pairwise(),
    tap(tell),
    map(([, after]) => after),
  );
}

function recordedPauses(
  pauses: ReadonlyMap<string, number>,
  notes: ReadonlyMap<string, PauseNote>,
  now: number,
): Record<string, RecordedPause> {
  const recorded: Record<string, RecordedPause> = {};
  for (const [agent, until] of pauses) {
    const note = notes.get(agent);
    recorded[agent] = {
      until: new Date(until).toISOString(),
      since: new Date(note?.since ?? now).toISOString(),
      reason: note?.reason ?? 'usage limit reached',
    };
  }
  return recorded;
}

/**
 * A wait, as a person reads it: "45 s", "12 min", "3 h 12 min", "2 d 4 h" (rounded up: a pause is never shorter
 * than it reads).
 */
export function describeWait(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** When a pause ends, for a log line or doctor: `2026-12-07T15:00:00.000Z (in 3 h 12 min)`. */
export function pauseEndText(until: number, now: number): string {
  return `${new Date(until).toISOString()} (in ${describeWait(until - now)})`;
}
