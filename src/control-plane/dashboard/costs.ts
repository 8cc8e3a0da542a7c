/**
 * Costs and run time per day over a range of days, and per company over the same range: what the dashboard's
 * Costs page shows. Days are the reader's: the browser sends its offset from UTC, so "today" is their today. A
 * job counts on the day it finished (or was queued, while it has not).
 */
import type { Queryable } from '../db.js';
import { invalidRequest } from '../errors.js';
import { companyStats, type CompanyStats } from './queries.js';

export interface CostDay {
  /** YYYY-MM-DD in the reader's time zone. */
  day: string;
  jobs: number;
  failed: number;
  costMicros: number;
  elapsedSec: number;
}

export interface CostReport {
  /** The first and last day of the range, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Every day of the range, oldest first, days without jobs included. */
  days: CostDay[];
  /** Per company over the range. */
  companies: CompanyStats[];
}

export interface CostRange {
  from: string;
  to: string;
  /** Minutes east of UTC, as the browser says (Date.getTimezoneOffset with its sign turned). */
  tzOffsetMin: number;
}

const DAY_MS = 86_400_000;
/** A year and a day: enough for any report a page shows, and a bound on the rows of one. */
export const MAX_RANGE_DAYS = 366;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function day(query: URLSearchParams, name: 'from' | 'to'): number {
  const value = query.get(name) ?? '';
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms) || isoDay(ms) !== value)
    throw invalidRequest(`Query parameter ${name} must be a day as YYYY-MM-DD; got "${value}".`);
  return ms;
}

/** The range of a costs request; a wrong one is a 400 that says what is wrong. */
export function parseCostRange(query: URLSearchParams): CostRange {
  const from = day(query, 'from');
  const to = day(query, 'to');
  if (to < from) throw invalidRequest(`The range ends (${isoDay(to)}) before it starts (${isoDay(from)}).`);
  if ((to - from) / DAY_MS + 1 > MAX_RANGE_DAYS) throw invalidRequest(`A range is at most ${MAX_RANGE_DAYS} days; ask for a shorter one.`);
  const offset = query.get('tzOffsetMin') ?? '0';
  if (!/^-?\d{1,4}$/.test(offset) || Math.abs(Number(offset)) > 14 * 60) {
    throw invalidRequest(`Query parameter tzOffsetMin must be minutes east of UTC, from -840 to 840; got "${offset}".`);
  }
  return { from: isoDay(from), to: isoDay(to), tzOffsetMin: Number(offset) };
}

/** The day a job counts on, in the reader's time zone, as SQL (the session's own time zone plays no part). */
const JOB_DAY = `((COALESCE(completed_at, created_at) AT TIME ZONE 'UTC') + $3::integer * interval '1 minute')::date`;

export async function costReport(db: Queryable, range: CostRange): Promise<CostReport> {
  const params = [range.from, range.to, range.tzOffsetMin];
  const inRange = `${JOB_DAY} BETWEEN $1::date AND $2::date`;
  const { rows } = await db.query<{ day: string; jobs: number; failed: number; cost: string | number | null; elapsed: number | null }>(
    `SELECT to_char(${JOB_DAY}, 'YYYY-MM-DD') AS day, count(*)::integer AS jobs,
            count(*) FILTER (WHERE status = 'failed')::integer AS failed, sum(cost_micros) AS cost, sum(elapsed_sec) AS elapsed
       FROM jobs WHERE ${inRange} GROUP BY 1`,
    params,
  );
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const days: CostDay[] = [];
  for (let ms = Date.parse(`${range.from}T00:00:00Z`); ms <= Date.parse(`${range.to}T00:00:00Z`); ms += DAY_MS) {
    const row = byDay.get(isoDay(ms));
    days.push({
      day: isoDay(ms),
      jobs: Number(row?.jobs ?? 0),
      failed: Number(row?.failed ?? 0),
      costMicros: Number(row?.cost ?? 0),
      elapsedSec: Number(row?.elapsed ?? 0),
    });
  }
  return { from: range.from, to: range.to, days, companies: await companyStats(db, { where: inRange, params }) };
}
