import type { EventKind, JobPayload } from '../protocol/types.js';

/**
 * The kinds a line of stdout can have. `stderr_line` is kept for stderr, so that the events alone tell how
 * many lines of each stream were delivered (which is where a restarted runner resumes reading them).
 */
export type StdoutEventKind = Exclude<EventKind, 'stderr_line'>;

/** What an adapter learned from the agent's output by the end of a run. */
export interface RunReport {
  sessionId?: string;
  /** US dollars × 1,000,000. */
  costMicros?: number;
  /** The agent's own verdict, from its final event, when it gave one. */
  reportedError?: boolean;
  /** The agent's error text, from its final event. */
  errorText?: string;
  /** The HTTP status of the model API's answer the run failed on, where the CLI prints it (claude, opencode). */
  apiStatus?: number;
  /**
   * When a usage limit resets (epoch ms), where the CLI prints it as data rather than words: Claude Code's
   * `rate_limit_info.resetsAt`, the response headers in OpenCode's error event. The last one seen.
   */
  limitResetsAt?: number;
}

/** A run that ended on a usage limit: the user's subscription or API quota is spent for now. */
export interface UsageLimit {
  /** When the CLI said the limit resets (epoch ms); undefined when it did not say. */
  resetsAt?: number;
}

export interface AgentLaunch {
  args: string[];
  /** The prompt, delivered on stdin: argv has length limits and shell quoting hazards. */
  stdin: string;
  /** Extra environment for the agent, on top of the runner's scrubbed environment. */
  env?: Record<string, string>;
  /**
   * The program to run instead of the adapter's binary. Only the `process` adapter sets it, with the command the
   * job's payload names; every CLI adapter leaves it unset and runs its binary (`defaultBin` or `--<name>-bin`).
   */
  command?: string;
}

/** A directory, or a single file, that an agent CLI writes its own state to. */
export interface StatePath {
  path: string;
  kind: 'dir' | 'file';
}

export interface LaunchContext {
  /** A private file (mode 0600, removed after the run) holding the job's instructions, when it has any. */
  instructionsPath?: string;
  /** The same instructions as text, for CLIs that take them in the prompt or a flag rather than a file. */
  instructions?: string;
}

/**
 * How to drive one agent CLI. The runner core knows nothing of any CLI's flags: it asks the adapter how to
 * start the agent, what each JSON line of output is, and what the run reported.
 */
export interface AgentAdapter {
  /** Short name used in logs and flags (`--claude-bin`). */
  readonly name: string;
  readonly defaultBin: string;
  readonly versionArgs: readonly string[];
  /** Tells a user how to make a missing binary available. */
  readonly installHint: string;
  /**
   * Where the CLI keeps its own state (its login, settings and sessions), given the user's home and the agent's
   * environment: writable inside the sandbox, which hides it from every other CLI's runs.
   */
  statePaths(home: string, env: NodeJS.ProcessEnv): readonly StatePath[];
  launch(job: JobPayload, context: LaunchContext): AgentLaunch;
  /** The event kind of one JSON object printed on stdout. */
  kindOf(message: Record<string, unknown>): StdoutEventKind;
  /** Folds one JSON object printed on stdout into the run's report. */
  report(previous: RunReport, message: Record<string, unknown>): RunReport;
  /**
   * Whether a failed run that resumed a session failed because the CLI no longer knows that session (expired,
   * garbage-collected, or kept for another working directory), judged from the run's report and the tail of its
   * stderr. The runner then retries once without resuming. Absent when the CLI's wording is not known.
   */
  isUnknownSession?(report: RunReport, stderrTail: readonly string[]): boolean;
  /**
   * Whether a failed run ended on a usage limit (a 429 or a quota error from the model API, or the CLI's own words
   * for a spent subscription), and when the limit resets if the CLI said so; judged from the run's report and the tail
   * of its stderr. `now` (epoch ms) anchors a time the CLI stated relative to the moment ("retry in 37s", "try again
   * at 3:28 PM"). Absent when the CLI's wording is not known.
   */
  usageLimit?(report: RunReport, stderrTail: readonly string[], now: number): UsageLimit | undefined;
}
