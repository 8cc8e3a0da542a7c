/**
 * All SQL of the control plane, over the `Db` interface (the same statements on PGlite and PostgreSQL).
 * The store knows states and ownership; it knows nothing of HTTP. Outcomes that the protocol distinguishes
 * (not found, not owned, terminal, lost race) come back as values, so the routes map them to status codes.
 */
import { randomUUID } from 'node:crypto';
import type { CompletionBody, JobDescriptor, JobPayload, RunnerEvent, RuntimeConfig } from '../protocol/types.js';
import type { Db, Queryable } from './db.js';
import { generateRunnerToken, hashesEqual, isRunnerTokenFormat, sha256Hex, tokenPreview } from './tokens.js';
import {
  TERMINAL_STATUSES,
  type CreatedToken,
  type EnqueueJobInput,
  type JobDetail,
  type JobRecord,
  type JobStatus,
  type LeaseExpiryAction,
  type ListJobsFilter,
  type ListTokensFilter,
  type RotatedToken,
  type RotateTokenInput,
  type StoredEvent,
  type TokenInfo,
} from './types.js';

/** The runner a valid token identifies. */
export interface RunnerIdentity {
  tokenId: string;
  companyId: string;
  preview: string;
}

/** What a presented token is worth: a runner, or why not (revoked and unknown tokens look alike). */
export type Authentication =
  | { kind: 'ok'; runner: RunnerIdentity }
  | { kind: 'invalid' }
  | { kind: 'expired'; expiredAt: string; preview: string };

/** Whether a runner may act on a job: 'ok', or why not. */
export type JobAccess = { kind: 'ok' } | { kind: 'not_found' } | { kind: 'not_owned' } | { kind: 'terminal'; status: JobStatus };

export type ClaimOutcome = { kind: 'claimed'; payload: JobPayload } | { kind: 'not_claimable' } | { kind: 'not_found' };

export type CancelOutcome = { kind: 'cancelled'; job: JobRecord } | { kind: 'terminal'; job: JobRecord } | { kind: 'not_found' };

export const RUNNER_LOST_MESSAGE = 'runner lost';

export interface StoreOptions {
  /** How long a job whose runner sends heartbeats lives after its last heartbeat or event batch. */
  leaseMs: number;
  /** How long after queueing a job whose runner never sent a heartbeat (a Part-1 runner) is given up. */
  part1JobLimitMs: number;
  /** How long a new token is valid when its creator does not say. */
  tokenTtlSec: number;
}

/** `last_used_at` is informational: refresh it at most this often per token, not on every request. */
const TOKEN_TOUCH_INTERVAL_MS = 5000;

type Timestamp = Date | string | null;

interface TokenRow {
  id: string;
  company_id: string;
  name: string;
  token_hash: string;
  preview: string;
  created_at: Timestamp;
  revoked_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: Timestamp;
}

/** A token row with its expiry judged by the database's clock, which every server sharing it agrees on. */
type JudgedTokenRow = TokenRow & { expired: boolean };
const JUDGED_TOKEN = `*, expires_at <= now() AS expired`;

interface JobRow {
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
  lease_expires_at: Timestamp;
  created_at: Timestamp;
  claimed_at: Timestamp;
  completed_at: Timestamp;
  exit_code: number | null;
  signal: string | null;
  elapsed_sec: number | null;
  // bigint: `pg` returns it as a string, PGlite as a number
  cost_micros: number | string | null;
  result_session_id: string | null;
  cli_version: string | null;
  error_message: string | null;
}

interface EventRow {
  event_id: string;
  attempt: number;
  seq: number | null;
  kind: StoredEvent['kind'];
  ts: Timestamp;
  payload: unknown;
  position: string;
}

type AccessRow = Pick<JobRow, 'company_id' | 'status' | 'claimed_by_token' | 'attempt'>;

const ACTIVE = `('claimed', 'streaming')`;
const NOT_TERMINAL = `('queued', 'claimed', 'streaming')`;
const ms = (param: number) => `($${param}::integer * interval '1 millisecond')`;
/** A lease ends `$n` milliseconds from the database's clock, so every server sharing a database agrees on it. */
const leaseEnd = (param: number) => `now() + ${ms(param)}`;
/**
 * The lease rule. A job's lease is a heartbeat lease only once its runner has sent a heartbeat (Part 2): until
 * then the runner may be a Part-1 runner, which never heartbeats and may be silent for as long as its agent
 * thinks, so the job lives until the later of `part1JobLimitMs` after queueing (the cloud's limit) and one
 * lease after its last event batch. The claim and event batches only ever extend the deadline; a heartbeat sets
 * it to one lease from now.
 */
const extendedLease = (leaseParam: number) => `GREATEST(lease_expires_at, ${leaseEnd(leaseParam)})`;

export class Store {
  private readonly tokenTouchedAt = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly options: StoreOptions,
  ) {}

  // ---------------------------------------------------------------- tokens

  createToken(companyId: string, name: string, ttlSec?: number): Promise<CreatedToken> {
    return insertToken(this.db, companyId, name, ttlSec ?? this.options.tokenTtlSec);
  }

  /**
   * A new token for the same company and name, in one transaction with the end of the old one: revoked now, or
   * (with `graceSec`) expiring within that grace, so runners can be moved over without a gap. Undefined when
   * there is no such token.
   */
  async rotateToken(tokenId: string, options: Omit<RotateTokenInput, 'tokenId'>): Promise<RotatedToken | undefined> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<TokenRow>(`SELECT * FROM tokens WHERE id = $1 FOR UPDATE`, [tokenId]);
      const old = rows[0];
      if (!old) return undefined;
      const created = await insertToken(tx, old.company_id, old.name, options.ttlSec ?? this.options.tokenTtlSec);
      const end =
        options.graceSec === undefined
          ? `revoked_at = COALESCE(revoked_at, now())`
          : `expires_at = LEAST(expires_at, now() + ($2::integer * interval '1 second'))`;
      const params = options.graceSec === undefined ? [tokenId] : [tokenId, options.graceSec];
      const { rows: ended } = await tx.query<TokenRow>(`UPDATE tokens SET ${end} WHERE id = $1 RETURNING *`, params);
      return { ...created, previous: toTokenInfo(ended[0]!) };
    });
  }

  async listTokens(filter: ListTokensFilter): Promise<TokenInfo[]> {
    const { rows } = await this.db.query<TokenRow>(
      `SELECT * FROM tokens
        WHERE ($1::text IS NULL OR company_id = $1) AND ($2::boolean OR revoked_at IS NULL)
        ORDER BY created_at DESC, id`,
      [filter.companyId ?? null, filter.includeRevoked ?? false],
    );
    return rows.map(toTokenInfo);
  }

  async revokeToken(tokenId: string): Promise<TokenInfo | undefined> {
    // COALESCE keeps the first revocation time: revoking twice is harmless and changes nothing.
    const { rows } = await this.db.query<TokenRow>(`UPDATE tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *`, [
      tokenId,
    ]);
    return rows[0] && toTokenInfo(rows[0]);
  }

  /**
   * The runner behind a presented token; 'invalid' alike for a malformed, unknown or revoked one (callers must not
   * say which), 'expired' for a token past its expiry (the runner tells its user to rotate it).
   */
  async authenticate(presented: string): Promise<Authentication> {
    if (!isRunnerTokenFormat(presented)) return INVALID;
    const hash = sha256Hex(presented);
    const { rows } = await this.db.query<JudgedTokenRow>(`SELECT ${JUDGED_TOKEN} FROM tokens WHERE token_hash = $1`, [hash]);
    const row = rows[0];
    // The lookup is by hash; the constant-time compare is the documented check that decides.
    if (!row || !hashesEqual(row.token_hash, hash)) return INVALID;
    const outcome = judgeToken(row);
    if (outcome.kind === 'ok') await this.touchToken(row.id);
    return outcome;
  }

  /** The same judgement again for a runner authenticated earlier (a long-poll that has been waiting). */
  async reauthenticate(runner: RunnerIdentity): Promise<Authentication> {
    const { rows } = await this.db.query<JudgedTokenRow>(`SELECT ${JUDGED_TOKEN} FROM tokens WHERE id = $1`, [runner.tokenId]);
    return rows[0] ? judgeToken(rows[0]) : INVALID;
  }

  private async touchToken(tokenId: string): Promise<void> {
    const now = Date.now();
    if (now - (this.tokenTouchedAt.get(tokenId) ?? 0) < TOKEN_TOUCH_INTERVAL_MS) return;
    this.tokenTouchedAt.set(tokenId, now);
    await this.db.query(`UPDATE tokens SET last_used_at = now() WHERE id = $1`, [tokenId]);
  }

  // ---------------------------------------------------------------- jobs (admin side)

  async enqueueJob(input: EnqueueJobInput): Promise<JobRecord> {
    const runtimeConfig: RuntimeConfig = { ...input.runtimeConfig };
    if (input.model !== undefined) runtimeConfig.model = input.model;
    if (input.maxTurns !== undefined) runtimeConfig.maxTurns = input.maxTurns;
    if (input.timeoutSec !== undefined) runtimeConfig.timeoutSec = input.timeoutSec;
    if (input.instructionsFileContent !== undefined) runtimeConfig.instructionsFileContent = input.instructionsFileContent;
    const { rows } = await this.db.query<JobRow>(
      `INSERT INTO jobs (id, company_id, agent_id, agent_name, prompt, prompt_hash, session_id, adapter_type, runtime_config, add_dirs)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb) RETURNING *`,
      [
        randomUUID(),
        input.companyId,
        input.agentId ?? deriveAgentId(input.companyId, input.agentName),
        input.agentName,
        input.prompt,
        sha256Hex(input.prompt),
        input.sessionId ?? null,
        input.adapterType ?? null,
        toJson(runtimeConfig),
        toJson(input.addDirs ?? []),
      ],
    );
    return toJobRecord(rows[0]!);
  }

  async listJobs(filter: ListJobsFilter & { limit: number }): Promise<JobRecord[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT * FROM jobs
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR company_id = $2)
        ORDER BY created_at DESC, enqueue_seq DESC LIMIT $3`,
      [filter.status ?? null, filter.companyId ?? null, filter.limit],
    );
    return rows.map(toJobRecord);
  }

  async getJob(jobId: string): Promise<JobDetail | undefined> {
    const { rows } = await this.db.query<JobRow & { event_count: number }>(
      `SELECT jobs.*, (SELECT count(*)::integer FROM events WHERE events.job_id = jobs.id) AS event_count
         FROM jobs WHERE id = $1`,
      [jobId],
    );
    const row = rows[0];
    return row && { ...toJobRecord(row), eventCount: Number(row.event_count) };
  }

  async cancelJob(jobId: string): Promise<CancelOutcome> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE jobs SET status = 'cancelled', completed_at = now(), lease_expires_at = NULL
        WHERE id = $1 AND status IN ${NOT_TERMINAL} RETURNING *`,
      [jobId],
    );
    if (rows[0]) return { kind: 'cancelled', job: toJobRecord(rows[0]) };
    const job = await this.getJob(jobId);
    return job ? { kind: 'terminal', job } : { kind: 'not_found' };
  }

  /**
   * A page of a job's events. The cursor is the arrival position, so a follower never misses an event that
   * arrives late with a lower seq; within the page, events are ordered by attempt, then seq, then arrival.
   * Arrival numbers of one job are handed out in commit order (appendEvents locks the job row first).
   */
  async listEvents(jobId: string, after: bigint, limit: number): Promise<{ events: StoredEvent[]; nextCursor: string }> {
    // The text copy of `arrival` has a name of its own: ORDER BY resolves an output name first, and ordering by the
    // text would put arrival 10 before 2.
    const { rows } = await this.db.query<EventRow>(
      `SELECT event_id, attempt, seq, kind, ts, payload, arrival::text AS position FROM (
         SELECT * FROM events WHERE job_id = $1 AND arrival > $2::bigint ORDER BY arrival LIMIT $3
       ) page ORDER BY attempt, seq NULLS LAST, page.arrival`,
      [jobId, after.toString(), limit],
    );
    const last = rows.reduce((max, row) => (BigInt(row.position) > max ? BigInt(row.position) : max), after);
    return { events: rows.map(toStoredEvent), nextCursor: last.toString() };
  }

  async jobStatus(jobId: string): Promise<JobStatus | undefined> {
    const { rows } = await this.db.query<{ status: JobStatus }>(`SELECT status FROM jobs WHERE id = $1`, [jobId]);
    return rows[0]?.status;
  }

  /** Fails or requeues every active job whose lease ran out; resolves to their ids. */
  async expireLeases(action: LeaseExpiryAction): Promise<string[]> {
    const set =
      action === 'fail'
        ? `status = 'failed', error_message = '${RUNNER_LOST_MESSAGE}', completed_at = now(), lease_expires_at = NULL`
        : `status = 'queued', claimed_by_token = NULL, claimed_at = NULL, lease_expires_at = NULL`;
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE jobs SET ${set} WHERE status IN ${ACTIVE} AND lease_expires_at < now() RETURNING id`,
    );
    return rows.map((row) => row.id);
  }

  // ---------------------------------------------------------------- jobs (runner side)

  /**
   * The oldest queued job of the company, preferring one not in `avoid` (jobs just offered to other pollers).
   * SKIP LOCKED passes over a job that another server is claiming at this instant, so concurrent long-polls
   * are not held up by (and do not all announce) the same row.
   */
  async nextQueuedJob(companyId: string, avoid: readonly string[] = []): Promise<JobDescriptor | undefined> {
    const pick = async (skip: readonly string[]) => {
      const { rows } = await this.db.query<Pick<JobRow, 'id' | 'agent_id' | 'agent_name' | 'created_at'>>(
        `SELECT id, agent_id, agent_name, created_at FROM jobs
          WHERE id = (SELECT id FROM jobs
                       WHERE company_id = $1 AND status = 'queued'
                         AND id NOT IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))
                       ORDER BY created_at, enqueue_seq LIMIT 1 FOR UPDATE SKIP LOCKED)`,
        [companyId, JSON.stringify(skip)],
      );
      const row = rows[0];
      return row && { jobId: row.id, agentId: row.agent_id, agentName: row.agent_name, createdAt: iso(row.created_at)! };
    };
    return (await pick(avoid)) ?? (avoid.length > 0 ? pick([]) : undefined);
  }

  /**
   * The claim is this one UPDATE: of several racing runners, exactly one sees a row come back. The job starts on
   * the Part-1 deadline (see `extendedLease`), counted from queueing on its first claim and from the claim when
   * a lease expiry requeued it, and at least one lease even when it waited long in the queue.
   */
  async claimJob(jobId: string, runner: RunnerIdentity): Promise<ClaimOutcome> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE jobs SET status = 'claimed', claimed_by_token = $3, claimed_at = now(), attempt = attempt + 1,
              lease_expires_at = GREATEST(CASE WHEN attempt = 0 THEN created_at ELSE now() END + ${ms(5)}, ${leaseEnd(4)})
        WHERE id = $1 AND company_id = $2 AND status = 'queued' RETURNING *`,
      [jobId, runner.companyId, runner.tokenId, this.options.leaseMs, this.options.part1JobLimitMs],
    );
    if (rows[0]) return { kind: 'claimed', payload: toJobPayload(rows[0]) };
    const { rows: found } = await this.db.query<AccessRow>(`SELECT company_id, status FROM jobs WHERE id = $1`, [jobId]);
    const row = found[0];
    if (!row || row.company_id !== runner.companyId || row.status === 'cancelled') return { kind: 'not_found' };
    return { kind: 'not_claimable' };
  }

  /**
   * Stores a batch idempotently (a retried batch adds nothing), moves `claimed` to `streaming` and extends the
   * lease to at least one lease from now, all in one transaction. Locking the job row first serialises batches
   * of one job, which keeps arrival numbers in commit order and lets a concurrent cancel or lease expiry either
   * happen before or after, never half.
   */
  async appendEvents(jobId: string, runner: RunnerIdentity, events: readonly RunnerEvent[]): Promise<JobAccess> {
    return this.withOwnedJob(jobId, runner, async (tx, job) => {
      const params: unknown[] = [jobId, job.attempt];
      const values = events.map((event) => {
        const at = params.push(event.eventId, event.seq ?? null, event.kind, event.ts, toJson(event.payload));
        return `($1, $${at - 4}::uuid, $2, $${at - 3}::integer, $${at - 2}, $${at - 1}::timestamptz, $${at}::jsonb)`;
      });
      await tx.query(
        `INSERT INTO events (job_id, event_id, attempt, seq, kind, ts, payload) VALUES ${values.join(', ')}
         ON CONFLICT (job_id, event_id) DO NOTHING`,
        params,
      );
      await tx.query(
        `UPDATE jobs SET status = CASE WHEN status = 'claimed' THEN 'streaming' ELSE status END,
                lease_expires_at = ${extendedLease(2)}
          WHERE id = $1`,
        [jobId, this.options.leaseMs],
      );
    });
  }

  async completeJob(jobId: string, runner: RunnerIdentity, body: CompletionBody): Promise<JobAccess> {
    return this.withOwnedJob(jobId, runner, async (tx) => {
      await tx.query(
        `UPDATE jobs SET status = $2, completed_at = now(), lease_expires_at = NULL, exit_code = $3, signal = $4,
                elapsed_sec = $5, cost_micros = $6, result_session_id = $7, cli_version = $8, error_message = $9
          WHERE id = $1`,
        [
          jobId,
          body.status,
          body.exitCode,
          body.signal ?? null,
          body.elapsedSec ?? null,
          body.costMicros ?? null,
          body.sessionId ?? null,
          body.cliVersion ?? null,
          body.errorMessage ?? null,
        ],
      );
    });
  }

  /** From a job's first heartbeat on, its runner speaks Part 2: the job lives one lease past the last sign of life. */
  async heartbeat(jobId: string, runner: RunnerIdentity): Promise<JobAccess> {
    return this.withOwnedJob(jobId, runner, async (tx) => {
      await tx.query(`UPDATE jobs SET lease_expires_at = ${leaseEnd(2)} WHERE id = $1`, [jobId, this.options.leaseMs]);
    });
  }

  /** Runs `fn` only if the job is active and claimed by this runner's token, with the job row locked. */
  private withOwnedJob(jobId: string, runner: RunnerIdentity, fn: (tx: Queryable, job: AccessRow) => Promise<void>): Promise<JobAccess> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<AccessRow>(
        `SELECT company_id, status, claimed_by_token, attempt FROM jobs WHERE id = $1 FOR UPDATE`,
        [jobId],
      );
      const access = classifyAccess(rows[0], runner);
      if (access.kind === 'ok') await fn(tx, rows[0]!);
      return access;
    });
  }
}

function classifyAccess(row: AccessRow | undefined, runner: RunnerIdentity): JobAccess {
  // Another company's job is reported exactly like a missing one: a token learns nothing about other companies.
  if (!row || row.company_id !== runner.companyId) return { kind: 'not_found' };
  if (TERMINAL_STATUSES.includes(row.status)) return { kind: 'terminal', status: row.status };
  if ((row.status === 'claimed' || row.status === 'streaming') && row.claimed_by_token === runner.tokenId) return { kind: 'ok' };
  return { kind: 'not_owned' };
}

/** A stable agent id for an agent name within a company, shaped as a UUID (version 8: custom). */
export function deriveAgentId(companyId: string, agentName: string): string {
  const hex = sha256Hex(`${companyId}\n${agentName}`);
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** JSON for a jsonb parameter (validation has refused whatever jsonb cannot hold). */
function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

const INVALID: Authentication = { kind: 'invalid' };

/** Revoked wins over expired: a revoked token is refused like an unknown one. */
function judgeToken(row: JudgedTokenRow): Authentication {
  if (row.revoked_at !== null) return INVALID;
  if (row.expired) return { kind: 'expired', expiredAt: iso(row.expires_at)!, preview: row.preview };
  return { kind: 'ok', runner: runnerIdentity(row) };
}

/** The runner a token row authenticates: the part of a token that every runner request carries along. */
function runnerIdentity(row: TokenRow): RunnerIdentity {
  return { tokenId: row.id, companyId: row.company_id, preview: row.preview };
}

async function insertToken(db: Queryable, companyId: string, name: string, ttlSec: number): Promise<CreatedToken> {
  const token = generateRunnerToken();
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO tokens (id, company_id, name, token_hash, preview, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + ($6::integer * interval '1 second')) RETURNING *`,
    [randomUUID(), companyId, name, sha256Hex(token), tokenPreview(token), ttlSec],
  );
  return { token, info: toTokenInfo(rows[0]!) };
}

function iso(value: Timestamp): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function toTokenInfo(row: TokenRow): TokenInfo {
  return {
    ...runnerIdentity(row),
    name: row.name,
    createdAt: iso(row.created_at)!,
    revokedAt: iso(row.revoked_at),
    expiresAt: iso(row.expires_at)!,
    lastUsedAt: iso(row.last_used_at),
  };
}

function toJobRecord(row: JobRow): JobRecord {
  return {
    jobId: row.id,
    companyId: row.company_id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    prompt: row.prompt,
    promptHash: row.prompt_hash,
    sessionId: row.session_id,
    adapterType: row.adapter_type,
    runtimeConfig: row.runtime_config,
    addDirs: row.add_dirs,
    status: row.status,
    attempt: Number(row.attempt),
    claimedByTokenId: row.claimed_by_token,
    leaseExpiresAt: iso(row.lease_expires_at),
    createdAt: iso(row.created_at)!,
    claimedAt: iso(row.claimed_at),
    completedAt: iso(row.completed_at),
    exitCode: row.exit_code,
    signal: row.signal,
    elapsedSec: row.elapsed_sec === null ? null : Number(row.elapsed_sec),
    costMicros: row.cost_micros === null ? null : Number(row.cost_micros),
    resultSessionId: row.result_session_id,
    cliVersion: row.cli_version,
    errorMessage: row.error_message,
  };
}

function toJobPayload(row: JobRow): JobPayload {
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

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    attempt: Number(row.attempt),
    seq: row.seq,
    kind: row.kind,
    ts: iso(row.ts)!,
    payload: row.payload,
  };
}
