/**
 * Jobs as a runner holds them (the runner protocol): the next queued job, the atomic claim, idempotent event
 * batches, the completion, the heartbeat, and the lease that ends a job whose runner went silent. Outcomes the
 * protocol distinguishes (not found, not owned, terminal, lost race) come back as values; the routes map them to
 * status codes.
 */
import type { CompletionBody, JobDescriptor, JobPayload, RunnerEvent } from '../../protocol/types.js';
import type { Db } from '../db.js';
import { TERMINAL_STATUSES, type JobStatus, type LeaseExpiryAction } from '../types.js';
import { iso, PAYLOAD_COLUMNS, toJobPayload, type JobRow, type PayloadRow, type Timestamp } from './rows.js';
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

/** What a long-poll's wake-up found: jobs offered (oldest first), and when to look again if they were too few. */
export interface Offer {
  jobs: JobDescriptor[];
  /** An offerable job was passed over because another statement held it: look again shortly. */
  skipped: boolean;
  /** When the earliest offer made before (possibly on another server) lapses unless claimed; null when none is out. */
  nextOfferInMs: number | null;
}

type AccessRow = Pick<JobRow, 'company_id' | 'status' | 'claimed_by_token'>;
type OfferRow = {
  id: string | null;
  agent_id: string;
  agent_name: string;
  created_at: Timestamp;
  adapter_type: string;
  skipped: boolean | null;
  next_offer_in_ms: number | null;
};
/** The claimed row (null when the claim failed) beside the job as it was before: who owns it, in what state. */
type ClaimRow = Pick<JobRow, 'company_id' | 'status'> & { claimed: PayloadRow | null };

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
   * Offers up to `count` queued jobs of the company whose adapter type is not `excluded` (Part 2: the polls' runners
   * are not taking those now; a job without one counts as claude_local), oldest first, each to one waiting
   * long-poll: each is held back from other offers for `offerMs` (or until its claim), on every server of this
   * database. SKIP LOCKED passes over
   * a job that another statement holds at this instant (a claim, another server's offer). When fewer than `count`
   * come back, the outlook says when to look again: at once if an offerable job was passed over (`skipped`), and
   * when the earliest offer made before this one lapses (`nextOfferInMs`; null when none is outstanding). One
   * statement, so that a wake-up costs one round trip however many polls wait.
   */
  async offerJobs(companyId: string, excluded: readonly string[], count: number, offerMs: number): Promise<Offer> {
    const { rows } = await this.db.prepared<OfferRow>(
      `WITH picked AS (
         SELECT id FROM jobs
          WHERE company_id = $1 AND status = 'queued' AND (offered_until IS NULL OR offered_until <= now())
            AND ${EFFECTIVE_ADAPTER_TYPE} <> ALL($4::text[])
          ORDER BY created_at, enqueue_seq LIMIT $2 FOR UPDATE SKIP LOCKED
       ), offered AS (
         UPDATE jobs SET offered_until = now() + ${ms(3)} FROM picked WHERE jobs.id = picked.id
         RETURNING jobs.id, jobs.agent_id, jobs.agent_name, jobs.created_at, jobs.enqueue_seq,
                   ${EFFECTIVE_ADAPTER_TYPE} AS adapter_type
       ), outlook AS (
         -- Read only when the offer fell short. Its snapshot predates the offer above, whose jobs count as offerable.
         SELECT count(*) FILTER (WHERE offered_until IS NULL OR offered_until <= now()) > (SELECT count(*) FROM picked) AS skipped,
                ceil(extract(epoch FROM min(offered_until) FILTER (WHERE offered_until > now()) - now()) * 1000)::integer
                  AS next_offer_in_ms
           FROM jobs WHERE company_id = $1 AND status = 'queued' AND (SELECT count(*) FROM picked) < $2
            AND ${EFFECTIVE_ADAPTER_TYPE} <> ALL($4::text[])
       )
       SELECT offered.id, offered.agent_id, offered.agent_name, offered.created_at, offered.adapter_type, outlook.skipped,
              outlook.next_offer_in_ms
         FROM outlook LEFT JOIN offered ON true
        ORDER BY offered.created_at, offered.enqueue_seq`,
      [companyId, count, offerMs, excluded],
    );
    const jobs: JobDescriptor[] = [];
    for (const row of rows) {
      if (row.id === null) continue;
      // The descriptor names the adapter type (Part 2), so that a runner can tell a job of a paused CLI at once.
      const { id: jobId, agent_id: agentId, agent_name: agentName, adapter_type: adapterType } = row;
      jobs.push({ jobId, agentId, agentName, createdAt: iso(row.created_at), adapterType });
    }
    const outlook = rows[0];
    return { jobs, skipped: outlook?.skipped === true, nextOfferInMs: outlook?.next_offer_in_ms ?? null };
  }

  /** Makes jobs offered to polls that went away before they were answered offerable again at once. */
  async withdrawOffers(jobIds: readonly string[]): Promise<void> {
    await this.db.prepared(`UPDATE jobs SET offered_until = NULL WHERE id = ANY($1::uuid[]) AND status = 'queued'`, [jobIds]);
  }

  /**
   * The claim is one UPDATE: of several racing runners, exactly one sees a row come back. The same statement
   * reads what it needs to say why a claim failed (404 or 409), and returns only the payload's columns. The job
   * starts on the Part-1 deadline (see `extendedLease`), counted from queueing on its first claim and from the
   * claim when a lease expiry requeued it, and at least one lease even when it waited long in the queue.
   */
  async claimJob(jobId: string, runner: RunnerIdentity): Promise<ClaimResult> {
    const { rows } = await this.db.prepared<ClaimRow>(
      `WITH target AS (SELECT company_id, status FROM jobs WHERE id = $1), claimed AS (
         UPDATE jobs SET status = 'claimed', claimed_by_token = $3, claimed_at = now(), attempt = attempt + 1, offered_until = NULL,
                lease_expires_at = GREATEST(CASE WHEN attempt = 0 THEN created_at ELSE now() END + ${ms(5)}, ${leaseEnd(4)})
          WHERE id = $1 AND company_id = $2 AND status = 'queued'
         RETURNING ${PAYLOAD_COLUMNS}
       )
       SELECT to_json(claimed) AS claimed, target.company_id, target.status FROM target LEFT JOIN claimed ON true`,
      [jobId, runner.companyId, runner.tokenId, this.options.leaseMs, this.options.part1JobLimitMs],
    );
    const row = rows[0];
    if (row?.claimed) return { kind: 'claimed', payload: toJobPayload(row.claimed) };
    if (!row || row.company_id !== runner.companyId || row.status === 'cancelled') return { kind: 'not_found' };
    return { kind: 'not_claimable' };
  }

  /**
   * Stores a batch idempotently (a retried batch adds nothing), moves `claimed` to `streaming` and extends the
   * lease to at least one lease from now, in one statement. Locking the job row first serialises batches of one
   * job, which keeps arrival numbers in commit order and lets a concurrent cancel or lease expiry either happen
   * before or after, never half. The batch goes as one JSON parameter, whatever its size. A batch whose new events
   * would take the job's events past `maxJobEventBytes` (their payloads as JSON text) is refused whole, and stores
   * nothing (events already stored count nothing again).
   */
  async appendEvents(jobId: string, runner: RunnerIdentity, events: readonly RunnerEvent[]): Promise<AppendOutcome> {
    const { access, row } = await this.asOwner<{ event_bytes: number | string; fits: boolean | null }>(
      jobId,
      runner,
      `batch AS (
         SELECT batch.*, coalesce(octet_length(batch.payload::text), 0) AS bytes
           FROM ROWS FROM (jsonb_to_recordset($4::jsonb)
                  AS ("eventId" uuid, seq integer, kind text, ts timestamptz, payload jsonb)) WITH ORDINALITY
                  AS batch("eventId", seq, kind, ts, payload, position)
       ), fresh AS (
         SELECT batch.* FROM batch
          WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.job_id = $1 AND events.event_id = batch."eventId")
       ), fits AS (
         SELECT owned.event_bytes + coalesce((SELECT sum(bytes) FROM fresh), 0) <= $6::bigint AS ok FROM owned
       ), stored AS (
         INSERT INTO events (job_id, event_id, attempt, seq, kind, ts, payload, bytes)
         SELECT owned.id, fresh."eventId", owned.attempt, fresh.seq, fresh.kind, fresh.ts, fresh.payload, fresh.bytes
           FROM owned, fresh, fits WHERE fits.ok
          ORDER BY fresh.position
         ON CONFLICT (job_id, event_id) DO NOTHING
         RETURNING bytes
       ), renewed AS (
         UPDATE jobs SET status = CASE WHEN jobs.status = 'claimed' THEN 'streaming' ELSE jobs.status END,
                lease_expires_at = ${extendedLease(5)},
                event_bytes = jobs.event_bytes + (SELECT coalesce(sum(bytes), 0) FROM stored)
           FROM owned, fits WHERE jobs.id = owned.id AND fits.ok
       )`,
      [JSON.stringify(events), this.options.leaseMs, this.options.maxJobEventBytes],
      ', event_bytes, (SELECT ok FROM fits) AS fits',
    );
    if (access.kind === 'ok' && row?.fits === false) {
      return { kind: 'quota_exceeded', storedBytes: Number(row.event_bytes), quotaBytes: this.options.maxJobEventBytes };
    }
    return access;
  }

  /**
   * Records the completion. A failure on a usage limit (Part 2: `usageLimit`) is recorded on the job, when and the
   * reset stated, and puts the job back in the queue, with the limit's message, while it has hit fewer than
   * `USAGE_LIMIT_REQUEUES` limits; the next one fails it. The next claim is a new attempt.
   */
  async completeJob(jobId: string, runner: RunnerIdentity, body: CompletionBody): Promise<JobAccess> {
    const limit = body.status === 'failed' ? body.usageLimit : undefined;
    const requeue = `$12::boolean AND owned.usage_limit_count < $14::integer`;
    const { access } = await this.asOwner(
      jobId,
      runner,
      `requeued AS (
         UPDATE jobs SET status = 'queued', claimed_by_token = NULL, claimed_at = NULL, lease_expires_at = NULL,
                error_message = $11, usage_limited_at = now(), usage_limit_resets_at = $13::timestamptz,
                usage_limit_count = jobs.usage_limit_count + 1
           FROM owned WHERE jobs.id = owned.id AND ${requeue}
       ), completed AS (
         UPDATE jobs SET status = $4, completed_at = now(), lease_expires_at = NULL, exit_code = $5, signal = $6,
                elapsed_sec = $7, cost_micros = $8, result_session_id = $9, cli_version = $10, error_message = $11,
                usage_limited_at = CASE WHEN $12::boolean THEN now() ELSE jobs.usage_limited_at END,
                usage_limit_resets_at = CASE WHEN $12::boolean THEN $13::timestamptz ELSE jobs.usage_limit_resets_at END,
                usage_limit_count = jobs.usage_limit_count + CASE WHEN $12::boolean THEN 1 ELSE 0 END
           FROM owned WHERE jobs.id = owned.id AND NOT (${requeue})
       )`,
      [
        body.status,
        body.exitCode,
        body.signal ?? null,
        body.elapsedSec ?? null,
        body.costMicros ?? null,
        body.sessionId ?? null,
        body.cliVersion ?? null,
        body.errorMessage ?? null,
        limit !== undefined,
        limit?.resetsAt ?? null,
        USAGE_LIMIT_REQUEUES,
      ],
    );
    return access;
  }

  /** From a job's first heartbeat on, its runner speaks Part 2: the job lives one lease past the last sign of life. */
  async heartbeat(jobId: string, runner: RunnerIdentity): Promise<JobAccess> {
    const { access } = await this.asOwner(
      jobId,
      runner,
      `renewed AS (UPDATE jobs SET lease_expires_at = ${leaseEnd(4)} FROM owned WHERE jobs.id = owned.id)`,
      [this.options.leaseMs],
    );
    return access;
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

  /**
   * One statement that locks the job row, applies `changes` (CTEs that read the `owned` row, which exists only if the
   * job is active and claimed by this runner's token; their parameters start at $4) and returns what the runner
   * may do with the job, as the row was when it was locked, with the `columns` a caller adds to the answer.
   */
  private async asOwner<Extra extends object = object>(
    jobId: string,
    runner: RunnerIdentity,
    changes: string,
    params: readonly unknown[],
    columns = '',
  ): Promise<{ access: JobAccess; row: (AccessRow & Extra) | undefined }> {
    const { rows } = await this.db.prepared<AccessRow & Extra>(
      `WITH job AS MATERIALIZED (
         SELECT id, company_id, status, claimed_by_token, attempt, event_bytes, usage_limit_count FROM jobs WHERE id = $1 FOR UPDATE
       ), owned AS (
         SELECT id, attempt, event_bytes, usage_limit_count FROM job
          WHERE company_id = $2 AND claimed_by_token = $3 AND status IN ${ACTIVE}
       ), ${changes}
       SELECT company_id, status, claimed_by_token${columns} FROM job`,
      [jobId, runner.companyId, runner.tokenId, ...params],
    );
    const row = rows[0];
    return { access: classifyAccess(row, runner), row };
  }
}

function classifyAccess(row: AccessRow | undefined, runner: RunnerIdentity): JobAccess {
  // Another company's job is reported exactly like a missing one: a token learns nothing about other companies.
  if (!row || row.company_id !== runner.companyId) return { kind: 'not_found' };
  if (TERMINAL_STATUSES.includes(row.status)) return { kind: 'terminal', status: row.status };
  if ((row.status === 'claimed' || row.status === 'streaming') && row.claimed_by_token === runner.tokenId) return { kind: 'ok' };
  return { kind: 'not_owned' };
}
