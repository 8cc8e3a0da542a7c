/**
 * The reference control plane's own shapes: what the admin API (in-process and over HTTP) takes and returns.
 * Timestamps are ISO-8601 strings everywhere, so an in-process call and an HTTP call return identical values.
 */
import { COMPLETION_STATUSES, type AdapterType, type EventKind, type RuntimeConfig } from '../protocol/types.js';

export const JOB_STATUSES = ['queued', 'claimed', 'streaming', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** States from which a job never moves again: the ways a job can end. */
export const TERMINAL_STATUSES: readonly JobStatus[] = COMPLETION_STATUSES;

export type LeaseExpiryAction = 'fail' | 'requeue';

export interface TokenInfo {
  tokenId: string;
  companyId: string;
  name: string;
  /** The first 8 characters of the token (`fos_` and 4 more): enough to tell tokens apart, never enough to use one. */
  preview: string;
  createdAt: string;
  revokedAt: string | null;
  /** When it stops working (a runner using it then gets 401 `runner_token_expired`); rotate it before. */
  expiresAt: string;
  /** Last authenticated runner request (updated at most every few seconds). */
  lastUsedAt: string | null;
  /** What the runner said it is, from its user-agent's first word (`founderos-runner/0.2.0`), as of lastUsedAt. */
  runnerVersion: string | null;
}

export interface CreatedToken {
  /** The plaintext token. Shown once: the server keeps only its sha256. */
  token: string;
  info: TokenInfo;
}

export interface CreateTokenInput {
  companyId: string;
  /** A label for people, e.g. the machine the token is for. */
  name?: string;
  /** Seconds until it expires; default the server's token TTL (90 days unless configured). */
  ttlSec?: number;
}

export interface RotateTokenInput {
  tokenId: string;
  /** Seconds until the new token expires; default the server's token TTL. */
  ttlSec?: number;
  /** Keep the old token working this many more seconds (0: expire it now); absent: revoke it now. */
  graceSec?: number;
}

export interface RotatedToken extends CreatedToken {
  /** The token it replaces: revoked, or expiring at the end of the grace period. */
  previous: TokenInfo;
}

export interface ListTokensFilter {
  companyId?: string;
  includeRevoked?: boolean;
}

export interface EnqueueJobInput {
  companyId: string;
  agentName: string;
  /** Defaults to a stable id derived from the company and agent name. */
  agentId?: string;
  prompt: string;
  adapterType?: AdapterType;
  model?: string;
  maxTurns?: number;
  timeoutSec?: number;
  sessionId?: string;
  addDirs?: string[];
  /** The instructions file's bytes in base64, as the protocol carries them (the admin CLI's --instructions-file encodes a file). */
  instructionsFileContent?: string;
  /** Extra runtime-config keys passed through to the runner as they are. */
  runtimeConfig?: Record<string, unknown>;
}

export interface JobRecord {
  jobId: string;
  companyId: string;
  agentId: string;
  agentName: string;
  prompt: string;
  promptHash: string;
  sessionId: string | null;
  adapterType: string | null;
  runtimeConfig: RuntimeConfig;
  addDirs: string[];
  status: JobStatus;
  /** How many times the job was claimed (more than 1 after a lease expiry requeued it). */
  attempt: number;
  claimedByTokenId: string | null;
  leaseExpiresAt: string | null;
  createdAt: string;
  claimedAt: string | null;
  completedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  elapsedSec: number | null;
  costMicros: number | null;
  resultSessionId: string | null;
  cliVersion: string | null;
  errorMessage: string | null;
  /** Who cancelled it (`the dashboard`, `the admin API`), when it was cancelled by a person. */
  cancelledBy: string | null;
  /** When a runner last reported that the job failed on a usage limit (docs/usage-limits.md), if one did. */
  usageLimitedAt: string | null;
  /** The reset that runner's CLI stated; null when it stated none. */
  usageLimitResetsAt: string | null;
  /** How many usage limits the job hit; each but the last allowed put it back in the queue. */
  usageLimitCount: number;
}

export interface JobDetail extends JobRecord {
  eventCount: number;
}

export interface ListJobsFilter {
  status?: JobStatus;
  companyId?: string;
  /** 1..1000, default 50. */
  limit?: number;
}

export interface StoredEvent {
  eventId: string;
  /** Which claim of the job produced it (see JobRecord.attempt). */
  attempt: number;
  seq: number | null;
  kind: EventKind;
  ts: string;
  payload: unknown;
}

export interface ListEventsOptions {
  /** A cursor from a previous page's `nextCursor`: only events stored after it. */
  after?: string;
  /** Wait up to this long (0..60000 ms) for new events when there are none yet and the job is not terminal. */
  waitMs?: number;
  /** 1..5000, default 1000. */
  limit?: number;
  /** Stops a waiting call early (in-process only; over HTTP, abort the request). */
  signal?: AbortSignal;
}

export interface EventPage {
  /** Ordered by attempt, then seq, then arrival. */
  events: StoredEvent[];
  /** Pass as `after` to get what arrives next. */
  nextCursor: string;
  /** The job's status when the page was read: a follower stops once it is terminal and a page comes back empty. */
  jobStatus: JobStatus;
}

/**
 * The admin API, with the same semantics in-process (`ControlPlane.admin`) and over HTTP (`AdminClient`).
 * Failures throw `ControlPlaneError` with the HTTP status and error code the HTTP API would answer.
 */
export interface AdminApi {
  createToken(input: CreateTokenInput): Promise<CreatedToken>;
  listTokens(filter?: ListTokensFilter): Promise<TokenInfo[]>;
  /** Idempotent: revoking a revoked token returns it unchanged. */
  revokeToken(tokenId: string): Promise<TokenInfo>;
  /** A new token for the same company and name; the old one is revoked, or expires after the grace. */
  rotateToken(input: RotateTokenInput): Promise<RotatedToken>;
  enqueueJob(input: EnqueueJobInput): Promise<JobRecord>;
  /** Newest first. */
  listJobs(filter?: ListJobsFilter): Promise<JobRecord[]>;
  getJob(jobId: string): Promise<JobDetail>;
  /** 409 `job_already_terminal` when the job already finished. */
  cancelJob(jobId: string, by?: string): Promise<JobRecord>;
  listEvents(jobId: string, options?: ListEventsOptions): Promise<EventPage>;
}
