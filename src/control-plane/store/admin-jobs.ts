/**
 * Jobs as the people who run the control plane see them (the admin API and the dashboard): enqueue, list, show,
 * cancel, and read a job's events page by page.
 */
import { randomUUID } from 'node:crypto';
import type { RuntimeConfig } from '../../protocol/types.js';
import type { Db } from '../db.js';
import { sha256Hex } from '../tokens.js';
import type { EnqueueJobInput, JobDetail, JobRecord, JobStatus, ListJobsFilter, StoredEvent } from '../types.js';
import { returnedRow, toJobRecord, toJson, toStoredEvent, type EventRow, type JobRow } from './rows.js';

export type CancelOutcome = { kind: 'cancelled'; job: JobRecord } | { kind: 'terminal'; job: JobRecord } | { kind: 'not_found' };

const NOT_TERMINAL = `('queued', 'claimed', 'streaming')`;

/** What an event's fields beside its payload take in a page (ids, kind, times, JSON punctuation), counted generously. */
export const EVENT_OVERHEAD_BYTES = 256;

export class AdminJobStore {
  constructor(private readonly db: Db) {}

  async enqueueJob(input: EnqueueJobInput): Promise<JobRecord> {
    const runtimeConfig: RuntimeConfig = { ...input.runtimeConfig };
    if (input.model !== undefined) runtimeConfig.model = input.model;
    if (input.maxTurns !== undefined) runtimeConfig.maxTurns = input.maxTurns;
    if (input.timeoutSec !== undefined) runtimeConfig.timeoutSec = input.timeoutSec;
    if (input.instructionsFileContent !== undefined) runtimeConfig.instructionsFileContent = input.instructionsFileContent;
    const { rows } = await this.db.prepared<JobRow>(
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
    return toJobRecord(returnedRow(rows, 'INSERT INTO jobs'));
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

  /** Cancels a job that has not ended; `by` says who, for the job's page. */
  async cancelJob(jobId: string, by: string): Promise<CancelOutcome> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE jobs SET status = 'cancelled', completed_at = now(), lease_expires_at = NULL, cancelled_by = $2
        WHERE id = $1 AND status IN ${NOT_TERMINAL} RETURNING *`,
      [jobId, by],
    );
    if (rows[0]) return { kind: 'cancelled', job: toJobRecord(rows[0]) };
    const job = await this.getJob(jobId);
    return job ? { kind: 'terminal', job } : { kind: 'not_found' };
  }

  /**
   * A page of a job's events: at most `limit` events, and no more than `maxBytes` of payload (each event counted with
   * EVENT_OVERHEAD_BYTES for its other fields), but always the first, however large. The cut is found on the
   * stored sizes alone, so no payload past it is read. The cursor is the arrival position, so a follower never misses
   * an event that arrives late with a lower seq; within the page, events are ordered by attempt, then seq, then
   * arrival. Arrival numbers of one job are handed out in commit order (appendEvents locks the job row first).
   */
  async listEvents(jobId: string, after: bigint, limit: number, maxBytes: number): Promise<{ events: StoredEvent[]; nextCursor: string }> {
    // The text copy of `arrival` has a name of its own: ORDER BY resolves an output name first, and ordering by the
    // text would put arrival 10 before 2.
    const { rows } = await this.db.query<EventRow>(
      `WITH sized AS (
         SELECT arrival, bytes + ${EVENT_OVERHEAD_BYTES} AS size,
                sum(bytes + ${EVENT_OVERHEAD_BYTES}) OVER (ORDER BY arrival ROWS UNBOUNDED PRECEDING) AS running
           FROM events WHERE job_id = $1 AND arrival > $2::bigint ORDER BY arrival LIMIT $3
       ), cut AS (SELECT max(arrival) AS last FROM sized WHERE running <= $4 OR running = size)
       SELECT event_id, attempt, seq, kind, ts, payload, arrival::text AS position
         FROM events, cut
        WHERE job_id = $1 AND arrival > $2::bigint AND arrival <= cut.last
        ORDER BY attempt, seq NULLS LAST, events.arrival`,
      [jobId, after.toString(), limit, maxBytes],
    );
    const last = rows.reduce((max, row) => (BigInt(row.position) > max ? BigInt(row.position) : max), after);
    return { events: rows.map(toStoredEvent), nextCursor: last.toString() };
  }

  async jobStatus(jobId: string): Promise<JobStatus | undefined> {
    const { rows } = await this.db.query<{ status: JobStatus }>(`SELECT status FROM jobs WHERE id = $1`, [jobId]);
    return rows[0]?.status;
  }
}

/** A stable agent id for an agent name within a company, shaped as a UUID (version 8: custom). */
export function deriveAgentId(companyId: string, agentName: string): string {
  const hex = sha256Hex(`${companyId}\n${agentName}`);
  // The variant's two high bits are 10: the hex digit at 16 keeps its low two bits.
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
