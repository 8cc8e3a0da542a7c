/**
 * Jobs as a runner holds them (the runner protocol): the next queued job, the atomic claim, idempotent event
 * batches, the completion, the heartbeat, and the lease that ends a job whose runner went silent. Outcomes the
 * protocol distinguishes (not found, not owned, terminal, lost race) come back as values; the routes map them to
 * status codes.
 */
import type { CompletionBody, JobDescriptor, JobPayload, RunnerEvent } from '../../protocol/types.js';
import type { Db, Queryable } from '../db.js';
import { TERMINAL_STATUSES, type JobStatus, type LeaseExpiryAction } from '../types.js';
import { iso, toJobPayload, toJson, type JobRow } from './rows.js';
import type { RunnerIdentity } from './tokens.js';

/** Whether a runner may act on a job: 'ok', or why not. */
export type JobAccess = { kind: 'ok' } | { kind: 'not_found' } | { kind: 'not_owned' } | { kind: 'terminal'; status: JobStatus };

/** What became of an events batch: stored (or a retry of one), refused because the job's events are at their quota, or not this runner's. */
export type AppendOutcome = JobAccess | { kind: 'quota_exceeded'; storedBytes: number; quotaBytes: number };

/** What a claim did, as the claim route maps it: the payload, 409 `job_not_claimable`, or 404. */
export type ClaimResult = { kind: 'claimed'; payload: JobPayload } | { kind: 'not_claimable' } | { kind: 'not_found' };

export const RUNNER_LOST_MESSAGE = 'runner lost';

/**
 * How many usage limits put a job back in the queue: the next one fails it. A limit is the subscription's of the
 * runner that hit it, not the job's, so the job can run on another runner, or on that one once its pause ends; a
 * job that keeps meeting limits (a quota that never comes back) still ends.
 */
export const USAGE_LIMIT_REQUEUES = 3;

/** The adapter type a job without one runs with (the protocol: absent means claude_local). */
const EFFECTIVE_ADAPTER_TYPE = `COALESCE(adapter_type, 'claude_local')`;

export interface RunnerJobStoreOptions {
  /** How long a job whose runner sends heartbeats lives after its last heartbeat or event batch. */
  leaseMs: number;
  /** How long after queueing a job whose runner never sent a heartbeat (a Part-1 runner) is given up. */
  part1JobLimitMs: number;
  /** The most a job's events may take, counted as their payloads' JSON text: a batch that would pass it is refused. */
  maxJobEventBytes: number;
}

type AccessRow = Pick<JobRow, 'company_id' | 'status' | 'claimed_by_token' | 'attempt' | 'event_bytes' | 'usage_limit_count'>;

/** Thrown inside a batch's transaction to undo it: the batch would take its job past its quota. */
class QuotaReached extends Error {
  constructor(readonly storedBytes: number) {
    super('the job has reached its storage quota');
  }
}

const ACTIVE = `('claimed', 'streaming')`;
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

export class RunnerJobStore {
  constructor(
    private readonly db: Db,
    private readonly options: RunnerJobStoreOptions,
  ) {}

  /**
   * The oldest queued job of the company whose adapter type is not `excluded` (Part 2: the runner is not taking those
   * now; a job without one counts as claude_local), preferring one not in `avoid` (jobs just offered to other
   * pollers). SKIP LOCKED passes over a job that another server is claiming at this instant, so concurrent long-polls
   * are not held up by (and do not all announce) the same row. The descriptor names the adapter type (Part 2).
   */
  async nextQueuedJob(
    companyId: string,
    avoid: readonly string[] = [],
    excluded: readonly string[] = [],
  ): Promise<JobDescriptor | undefined> {
    const pick = async (skip: readonly string[]) => {
      const { rows } = await this.db.query<Pick<JobRow, 'id' | 'agent_id' | 'agent_name' | 'created_at' | 'adapter_type'>>(
        `SELECT id, agent_id, agent_name, created_at, ${EFFECTIVE_ADAPTER_TYPE} AS adapter_type FROM jobs
          WHERE id = (SELECT id FROM jobs
                       WHERE company_id = $1 AND status = 'queued'
                         AND id NOT IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))
                         AND ${EFFECTIVE_ADAPTER_TYPE} NOT IN (SELECT value FROM jsonb_array_elements_text($3::jsonb))
                       ORDER BY created_at, enqueue_seq LIMIT 1 FOR UPDATE SKIP LOCKED)`,
        [companyId, JSON.stringify(skip), JSON.stringify(excluded)],
      );
      const row = rows[0];
      return (
        row && {
          jobId: row.id,
          agentId: row.agent_id,
          agentName: row.agent_name,
          createdAt: iso(row.created_at),
          adapterType: row.adapter_type!,
        }
      );
    };
    return (await pick(avoid)) ?? (avoid.length > 0 ? pick([]) : undefined);
  }

  /**
   * The claim is this one UPDATE: of several racing runners, exactly one sees a row come back. The job starts on
   * the Part-1 deadline (see `extendedLease`), counted from queueing on its first claim and from the claim when
   * a lease expiry requeued it, and at least one lease even when it waited long in the queue.
   */
  async claimJob(jobId: string, runner: RunnerIdentity): Promise<ClaimResult> {
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
   * happen before or after, never half. A batch whose new events would take the job's events past
   * `maxJobEventBytes` is undone and refused whole (events already stored count nothing again).
   */
  async appendEvents(jobId: string, runner: RunnerIdentity, events: readonly RunnerEvent[]): Promise<AppendOutcome> {
    try {
      return await this.withOwnedJob(jobId, runner, async (tx, job) => {
        const params: unknown[] = [jobId, job.attempt];
        const values = events.map((event) => {
          const payload = toJson(event.payload);
          const at = params.push(
            event.eventId,
            event.seq ?? null,
            event.kind,
            event.ts,
            payload,
            payload === null ? 0 : Buffer.byteLength(payload),
          );
          return `($1, $${at - 5}::uuid, $2, $${at - 4}::integer, $${at - 3}, $${at - 2}::timestamptz, $${at - 1}::jsonb, $${at}::integer)`;
        });
        const { rows: stored } = await tx.query<{ bytes: number }>(
          `INSERT INTO events (job_id, event_id, attempt, seq, kind, ts, payload, bytes) VALUES ${values.join(', ')}
           ON CONFLICT (job_id, event_id) DO NOTHING RETURNING bytes`,
          params,
        );
        const added = stored.reduce((sum, row) => sum + Number(row.bytes), 0);
        const before = Number(job.event_bytes);
        if (before + added > this.options.maxJobEventBytes) throw new QuotaReached(before);
        await tx.query(
          `UPDATE jobs SET status = CASE WHEN status = 'claimed' THEN 'streaming' ELSE status END,
                  lease_expires_at = ${extendedLease(2)}, event_bytes = event_bytes + $3
            WHERE id = $1`,
          [jobId, this.options.leaseMs, added],
        );
      });
    } catch (err) {
      if (!(err instanceof QuotaReached)) throw err;
      return { kind: 'quota_exceeded', storedBytes: err.storedBytes, quotaBytes: this.options.maxJobEventBytes };
    }
  }

  /**
   * Records the completion. A failure on a usage limit (Part 2: `usageLimit`) is recorded on the job, when and the
   * reset stated, and puts the job back in the queue, with the limit's message, while it has hit fewer than
   * `USAGE_LIMIT_REQUEUES` limits; the next one fails it. The next claim is a new attempt.
   */
  async completeJob(jobId: string, runner: RunnerIdentity, body: CompletionBody): Promise<JobAccess> {
    return this.withOwnedJob(jobId, runner, async (tx, job) => {
      const limit = body.status === 'failed' ? body.usageLimit : undefined;
      // The limit, its reset in parameter `at`.
      const limitSet = (at: number) =>
        `usage_limited_at = now(), usage_limit_resets_at = $${at}::timestamptz, usage_limit_count = usage_limit_count + 1`;
      if (limit && job.usage_limit_count < USAGE_LIMIT_REQUEUES) {
        await tx.query(
          `UPDATE jobs SET status = 'queued', claimed_by_token = NULL, claimed_at = NULL, lease_expires_at = NULL,
                  error_message = $2, ${limitSet(3)}
            WHERE id = $1`,
          [jobId, body.errorMessage ?? null, limit.resetsAt],
        );
        return;
      }
      await tx.query(
        `UPDATE jobs SET status = $2, completed_at = now(), lease_expires_at = NULL, exit_code = $3, signal = $4,
                elapsed_sec = $5, cost_micros = $6, result_session_id = $7, cli_version = $8, error_message = $9
                ${limit ? `, ${limitSet(10)}` : ''}
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
          ...(limit ? [limit.resetsAt] : []),
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

  /** Runs `fn` only if the job is active and claimed by this runner's token, with the job row locked. */
  private withOwnedJob(jobId: string, runner: RunnerIdentity, fn: (tx: Queryable, job: AccessRow) => Promise<void>): Promise<JobAccess> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<AccessRow>(
        `SELECT company_id, status, claimed_by_token, attempt, event_bytes, usage_limit_count FROM jobs WHERE id = $1 FOR UPDATE`,
        [jobId],
      );
      const row = rows[0];
      const access = classifyAccess(row, runner);
      if (row && access.kind === 'ok') await fn(tx, row);
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
