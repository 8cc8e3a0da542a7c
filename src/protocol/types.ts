/**
 * The runner protocol's wire shapes (see PROTOCOL.md beside the project: Part 1 is the FounderOS cloud's
 * fixed protocol, Part 2 this project's extensions). Shared by the runner and the reference control plane.
 */

/** Every runner route lives under this prefix of the server URL. */
export const RUNNER_API_PREFIX = '/api/runner';

/** `fos_` followed by exactly 32 ASCII letters or digits. */
export const TOKEN_PATTERN = /^fos_[A-Za-z0-9]{32}$/;

/** The most events one batch may carry on the wire (the runner itself sends at most 32). */
export const MAX_EVENTS_PER_BATCH = 256;

/**
 * The shapes a control plane sends (a queued job, a claimed job's payload, an error body) are declared once, as the
 * schemas that check them; their types are inferred there.
 */
export type { ErrorBody, JobDescriptor, JobPayload, RuntimeConfig } from './schemas.js';

/** Known adapter types; any other string may arrive from a newer server. */
export type AdapterType =
  | 'claude_local'
  | 'codex_local'
  | 'gemini_local'
  | 'opencode_local'
  | 'pi_local'
  | 'cursor_local'
  | 'openclaw_gateway'
  | 'hermes_local'
  | 'byo_runner'
  | 'process'
  | 'http'
  | (string & {});

/** Event kinds the protocol accepts; anything else is a 400. */
export const EVENT_KINDS = [
  'stdout_line',
  'stderr_line',
  'claude_message',
  'claude_tool_use',
  'claude_tool_result',
  'claude_result',
  'model_message',
  'tool_call',
  'tool_result',
  'run_complete',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface RunnerEvent {
  /** A UUID made by the runner, unique per job. */
  eventId: string;
  kind: EventKind;
  /** ISO-8601 time (with `Z`) at which the runner read the line. */
  ts: string;
  /** The parsed JSON object of a JSON line, or the raw text of a line that is not JSON. */
  payload?: Record<string, unknown> | string;
  /** Part 2: the line's position in the job's output, counting from 0. */
  seq?: number;
}

export type CompletionStatus = 'completed' | 'failed' | 'cancelled';

export interface CompletionBody {
  status: CompletionStatus;
  exitCode: number;
  signal?: string | null;
  elapsedSec?: number;
  /** US dollars × 1,000,000, a non-negative integer. */
  costMicros?: number;
  sessionId?: string | null;
  cliVersion?: string;
  errorMessage?: string | null;
}

/** The error codes a server puts in its JSON error bodies, beside a `requestId`. */
export type ErrorCode =
  | 'invalid_runner_token'
  | 'runner_token_expired'
  | 'job_not_claimable'
  | 'job_not_found'
  | 'job_terminal'
  | 'job_already_terminal'
  | 'job_not_owned_by_token'
  | 'invalid_request'
  | 'payload_too_large'
  | 'not_found'
  | 'internal_error';
