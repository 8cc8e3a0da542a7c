/**
 * The runner protocol's wire shapes (docs/protocol.md: Part 1 is the FounderOS cloud's fixed protocol, Part 2 this
 * project's extensions). Shared by the runner and the reference control plane.
 */

/** Every runner route lives under this prefix of the server URL. */
export const RUNNER_API_PREFIX = '/api/runner';

/** `fos_` followed by exactly 32 ASCII letters or digits. */
export const TOKEN_PATTERN = /^fos_[A-Za-z0-9]{32}$/;

/** Part 2: the long-poll's query parameter naming, comma-separated, the adapter types the runner is not taking now. */
export const EXCLUDE_ADAPTER_TYPES_PARAM = 'excludeAdapterTypes';

/** The most events one batch may carry on the wire (the runner itself sends at most 32). */
export const MAX_EVENTS_PER_BATCH = 256;

/**
 * The shapes on the wire (a queued job, a claimed job's payload, an error body; an event, a completion) are declared
 * once, as the schemas that check them; their types are inferred there.
 */
export type { CompletionBody, ErrorBody, JobDescriptor, JobPayload, RunnerEvent, RuntimeConfig } from './schemas.js';

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

/** How a job can end, as a runner reports it. */
export const COMPLETION_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export type CompletionStatus = (typeof COMPLETION_STATUSES)[number];

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
