/**
 * The tables' rows as the database returns them, and their mapping to the admin API's and the protocol's shapes.
 * Timestamps become ISO-8601 strings, so an in-process call and an HTTP call return identical values.
 */
import type { JobPayload, RuntimeConfig } from '../../protocol/types.js';
import type { JobRecord, JobStatus, StoredEvent, TokenInfo } from '../types.js';

/** A timestamptz column as a driver returns it (`| null` where the column is nullable). */
export type Timestamp = Date | string;

export interface TokenRow {
  id: string;
  company_id: string;
  name: string;
  token_hash: string;
  preview: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
  expires_at: Timestamp;
  runner_version: string | null;
}

export interface JobRow {
  id: string;
  company_id: string;
  agent_id: string;
  agent_name: string;
  prompt: string;
  prompt_hash: string;
  session_id: string | null;
  adapter_type: string | null;
  runtime_config: RuntimeConfig;
  add_dirs: string[];
  status: JobStatus;
  attempt: number;
  claimed_by_token: string | null;
  lease_expires_at: Timestamp | null;
  created_at: Timestamp;
  claimed_at: Timestamp | null;
  completed_at: Timestamp | null;
  exit_code: number | null;
  signal: string | null;
  elapsed_sec: number | null;
  // bigint: `pg` returns it as a string, PGlite as a number
  cost_micros: number | string | null;
  result_session_id: string | null;
  cli_version: string | null;
  error_message: string | null;
  cancelled_by: string | null;
  /** The size of its events' payloads as JSON text (bigint, see cost_micros). */
  event_bytes: number | string;
  usage_limited_at: Timestamp | null;
  usage_limit_resets_at: Timestamp | null;
  usage_limit_count: number;
}

export interface EventRow {
  event_id: string;
  attempt: number;
  seq: number | null;
  kind: StoredEvent['kind'];
  ts: Timestamp;
  payload: unknown;
  /** The arrival number as text: the events cursor. */
  position: string;
}

/** The row a statement that always returns one (INSERT … RETURNING, or an UPDATE of a row locked before) returned. */
export function returnedRow<T>(rows: readonly T[], statement: string): T {
  const row = rows[0];
  if (row === undefined) throw new Error(`${statement} returned no row`);
  return row;
}

/** JSON for a jsonb parameter (validation has refused whatever jsonb cannot hold). */
export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function iso(value: Timestamp): string;
export function iso(value: Timestamp | null): string | null;
export function iso(value: Timestamp | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function toTokenInfo(row: TokenRow): TokenInfo {
  return {
    tokenId: row.id,
    companyId: row.company_id,
    preview: row.preview,
    name: row.name,
    createdAt: iso(row.created_at),
    revokedAt: iso(row.revoked_at),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    runnerVersion: row.runner_version,
  };
}

/** The columns of a job that a list of jobs shows (the dashboard's rows read only these). */
export type JobCoreRow = Pick<
  JobRow,
  | 'id'
  | 'company_id'
  | 'agent_name'
  | 'adapter_type'
  | 'status'
  | 'attempt'
  | 'claimed_by_token'
  | 'created_at'
  | 'claimed_at'
  | 'completed_at'
  | 'exit_code'
  | 'signal'
  | 'elapsed_sec'
  | 'cost_micros'
  | 'cancelled_by'
>;

export type JobCore = Pick<
  JobRecord,
  | 'jobId'
  | 'companyId'
  | 'agentName'
  | 'adapterType'
  | 'status'
  | 'attempt'
  | 'claimedByTokenId'
  | 'createdAt'
  | 'claimedAt'
  | 'completedAt'
  | 'exitCode'
  | 'signal'
  | 'elapsedSec'
  | 'costMicros'
  | 'cancelledBy'
>;

export function toJobCore(row: JobCoreRow): JobCore {
  return {
    jobId: row.id,
    companyId: row.company_id,
    agentName: row.agent_name,
    adapterType: row.adapter_type,
    status: row.status,
    attempt: Number(row.attempt),
    claimedByTokenId: row.claimed_by_token,
    createdAt: iso(row.created_at),
    claimedAt: iso(row.claimed_at),
    completedAt: iso(row.completed_at),
    exitCode: row.exit_code,
    signal: row.signal,
    elapsedSec: row.elapsed_sec === null ? null : Number(row.elapsed_sec),
    costMicros: row.cost_micros === null ? null : Number(row.cost_micros),
    cancelledBy: row.cancelled_by,
  };
}

export function toJobRecord(row: JobRow): JobRecord {
  return {
    ...toJobCore(row),
    agentId: row.agent_id,
    prompt: row.prompt,
    promptHash: row.prompt_hash,
    sessionId: row.session_id,
    runtimeConfig: row.runtime_config,
    addDirs: row.add_dirs,
    leaseExpiresAt: iso(row.lease_expires_at),
    resultSessionId: row.result_session_id,
    cliVersion: row.cli_version,
    errorMessage: row.error_message,
    usageLimitedAt: iso(row.usage_limited_at),
    usageLimitResetsAt: iso(row.usage_limit_resets_at),
    usageLimitCount: Number(row.usage_limit_count),
  };
}

/** The columns of a job that its claim answers with, and only those: the claim reads nothing else back. */
export const PAYLOAD_COLUMNS = 'id, agent_id, agent_name, prompt, session_id, prompt_hash, runtime_config, add_dirs, adapter_type';
export type PayloadRow = Pick<
  JobRow,
  'id' | 'agent_id' | 'agent_name' | 'prompt' | 'session_id' | 'prompt_hash' | 'runtime_config' | 'add_dirs' | 'adapter_type'
>;

/** What the claim answers the runner: the protocol's job payload. */
export function toJobPayload(row: PayloadRow): JobPayload {
  const payload: JobPayload = {
    jobId: row.id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    prompt: row.prompt,
    sessionId: row.session_id,
    promptHash: row.prompt_hash,
    runtimeConfig: row.runtime_config,
    addDirs: row.add_dirs,
  };
  // Absent means claude_local to the runner; only say otherwise when the job did.
  if (row.adapter_type !== null) payload.adapterType = row.adapter_type;
  return payload;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    attempt: Number(row.attempt),
    seq: row.seq,
    kind: row.kind,
    ts: iso(row.ts),
    payload: row.payload,
  };
}
