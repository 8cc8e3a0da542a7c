/**
 * The dashboard's own reads and writes: totals per company, each token's current job, and stopping every running
 * job at once. Everything else the dashboard shows comes from the AdminApi, so it has one implementation.
 */
import type { Queryable } from '../db.js';
import { JOB_STATUSES, type JobStatus } from '../types.js';

export interface CompanyStats {
  companyId: string;
  /** Jobs per status (every status present, 0 when none). */
  counts: Record<JobStatus, number>;
  /** Sum of the reported costs, US dollars × 1,000,000. */
  costMicros: number;
  /** Sum of the reported run times. */
  elapsedSec: number;
}

/** Per company, of every job or (with `only`) of the jobs an SQL condition picks. */
export async function companyStats(db: Queryable, only?: { where: string; params: unknown[] }): Promise<CompanyStats[]> {
  const { rows } = await db.query<{
    company_id: string;
    status: JobStatus;
    jobs: number;
    cost: string | number | null;
    elapsed: number | null;
  }>(
    `SELECT company_id, status, count(*)::integer AS jobs, sum(cost_micros) AS cost, sum(elapsed_sec) AS elapsed
       FROM jobs WHERE ${only?.where ?? 'true'} GROUP BY company_id, status ORDER BY company_id`,
    only?.params ?? [],
  );
  const byCompany = new Map<string, CompanyStats>();
  for (const row of rows) {
    let stats = byCompany.get(row.company_id);
    if (!stats) {
      const counts = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
      byCompany.set(row.company_id, (stats = { companyId: row.company_id, counts, costMicros: 0, elapsedSec: 0 }));
    }
    stats.counts[row.status] = Number(row.jobs);
    stats.costMicros += Number(row.cost ?? 0);
    stats.elapsedSec += Number(row.elapsed ?? 0);
  }
  return [...byCompany.values()];
}

/** Token id → the job it is running now (claimed or streaming). */
export async function currentJobsByToken(db: Queryable): Promise<Map<string, string>> {
  const { rows } = await db.query<{ claimed_by_token: string; id: string }>(
    `SELECT claimed_by_token, id FROM jobs WHERE status IN ('claimed', 'streaming') AND claimed_by_token IS NOT NULL
      ORDER BY claimed_at`,
  );
  return new Map(rows.map((row) => [row.claimed_by_token, row.id]));
}

/**
 * Cancels every claimed or streaming job (of one company when given), saying who did; resolves to their ids.
 * Runners learn of it on their next heartbeat or event batch (409) and stop their agents.
 */
export async function cancelRunningJobs(db: Queryable, by: string, companyId?: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE jobs SET status = 'cancelled', completed_at = now(), lease_expires_at = NULL, cancelled_by = $2
      WHERE status IN ('claimed', 'streaming') AND ($1::text IS NULL OR company_id = $1) RETURNING id`,
    [companyId ?? null, `${by} (stop all running)`],
  );
  return rows.map((row) => row.id);
}
