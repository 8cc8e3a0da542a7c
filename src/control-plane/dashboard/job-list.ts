/**
 * The dashboard's job list: one page of the jobs that match a filter, newest first, with a cursor to the pages
 * around it (keyset on the list's order, so a page costs the same at job 5 and at job 5,000,000), where the page
 * sits in the whole list, and, live, what changed on it. The rows are summaries: a job's whole prompt and
 * settings are its own page's.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '../db.js';
import { invalidRequest } from '../errors.js';
import { longPoll, type WakeHub } from '../long-poll.js';
import { toJobCore, type JobCore, type JobCoreRow } from '../store/rows.js';
import type { JobStatus } from '../types.js';
import { parseCompanyId, parseJobId, parseJobStatus, parseTokenId } from '../validation.js';
import { ANY_JOB_TOPIC, KEEPALIVE_MS, RECONNECT_MS, sendMessage, writeChunk } from './sse.js';

/** A row of the list: a job without what only its own page shows (the whole prompt, its settings). */
export interface JobSummary extends JobCore {
  /** The prompt's first characters. */
  promptPreview: string;
  /** The first line of the error message, when there is one. */
  errorLine: string | null;
}

/** Where a page sits in the whole list, and what is around it. */
export interface JobListPosition {
  /** Jobs that match the filter. */
  total: number;
  /** Matching jobs newer than the page's first row (0 on the first page). */
  offset: number;
  hasNewer: boolean;
  hasOlder: boolean;
  /** Running jobs (claimed or streaming) of the filter's company, or of all: what "stop all running" would stop. */
  running: number;
}

export interface JobListPage extends JobListPosition {
  jobs: JobSummary[];
}

/** What changed on the page since the last message: rows new or changed, and the page's order now. */
export interface JobListChanges extends JobListPosition {
  upsert: JobSummary[];
  order: string[];
}

/** The values the list's filters offer. */
export interface JobFacets {
  companies: string[];
  agents: string[];
}

/** How far back each `range` looks. */
const RANGES = { '1h': '1 hour', '24h': '24 hours', '7d': '7 days', '30d': '30 days' } as const;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;
/** A search this long or longer is refused: it would be no one's words. */
const MAX_SEARCH = 200;
/** Facets list at most this many values each, the most used first. */
const MAX_FACETS = 500;
const PREVIEW_CHARS = 160;
/** The page is read again at most this often, however busy the jobs are. */
export const JOB_LIST_THROTTLE_MS = 250;

export interface JobListQuery {
  statuses?: JobStatus[];
  companyId?: string;
  agentName?: string;
  tokenId?: string;
  adapterType?: string;
  range?: keyof typeof RANGES;
  /** Job id (or its start) or words of the prompt or the agent's name. */
  q?: string;
  /** Jobs older than this one (the next page), or newer than it (the previous page). */
  before?: string;
  after?: string;
  /** The last page: the oldest jobs. */
  oldest?: boolean;
  limit: number;
}

function text(query: URLSearchParams, name: string, max = 256): string | undefined {
  const value = query.get(name)?.trim();
  if (!value) return undefined;
  if (value.length > max) throw invalidRequest(`Query parameter ${name} is longer than ${max} characters.`);
  return value;
}

/** The list's filter from the query string; a wrong value is a 400 that names it. */
export function parseJobListQuery(query: URLSearchParams): JobListQuery {
  const parsed: JobListQuery = { limit: DEFAULT_PAGE };
  const limit = query.get('limit');
  if (limit) {
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE) {
      throw invalidRequest(`Query parameter limit must be an integer from 1 to ${MAX_PAGE}; got "${limit}".`);
    }
    parsed.limit = Number(limit);
  }
  const status = text(query, 'status');
  if (status) parsed.statuses = status.split(',').map((s) => parseJobStatus(s.trim()));
  const companyId = text(query, 'companyId');
  if (companyId) parsed.companyId = parseCompanyId(companyId);
  parsed.agentName = text(query, 'agentName');
  const tokenId = text(query, 'tokenId');
  if (tokenId) parsed.tokenId = parseTokenId(tokenId);
  parsed.adapterType = text(query, 'adapterType', 64);
  const range = text(query, 'range');
  if (range) {
    if (!(range in RANGES)) throw invalidRequest(`Query parameter range must be one of ${Object.keys(RANGES).join(', ')}; got "${range}".`);
    parsed.range = range as keyof typeof RANGES;
  }
  parsed.q = text(query, 'q', MAX_SEARCH);
  const before = text(query, 'before');
  const after = text(query, 'after');
  parsed.oldest = query.get('oldest') === '1' || undefined;
  if ([before, after, parsed.oldest].filter(Boolean).length > 1) {
    throw invalidRequest('Give one of before, after and oldest=1: a page is older than one job, newer than one, or the last.');
  }
  if (before) parsed.before = parseJobId(before);
  if (after) parsed.after = parseJobId(after);
  return parsed;
}

/** `%` and `_` mean themselves in a search. */
const likeEscaped = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The SQL condition of a filter (cursors apart), with its parameters from `$1`. */
function conditions(query: JobListQuery): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  if (query.statuses) where.push(`status = ANY(${param(query.statuses)}::text[])`);
  if (query.companyId) where.push(`company_id = ${param(query.companyId)}`);
  if (query.agentName) where.push(`agent_name = ${param(query.agentName)}`);
  if (query.tokenId) where.push(`claimed_by_token = ${param(query.tokenId)}::uuid`);
  if (query.adapterType) {
    // No adapter type means claude_local, to the runner and to the list alike.
    where.push(`COALESCE(adapter_type, 'claude_local') = ${param(query.adapterType)}`);
  }
  if (query.range) where.push(`created_at > now() - interval '${RANGES[query.range]}'`);
  if (query.q) {
    const words = `%${likeEscaped(query.q)}%`;
    const idStart = /^[0-9a-f-]{4,36}$/i.test(query.q) ? `id::text LIKE ${param(`${likeEscaped(query.q.toLowerCase())}%`)} OR ` : '';
    where.push(`(${idStart}prompt ILIKE ${param(words)} OR agent_name ILIKE ${param(words)})`);
  }
  return { where, params };
}

const SUMMARY_COLUMNS = `id, company_id, agent_name, adapter_type, status, attempt, claimed_by_token, created_at, claimed_at,
  completed_at, exit_code, signal, elapsed_sec, cost_micros, cancelled_by, left(prompt, ${PREVIEW_CHARS}) AS prompt_preview,
  NULLIF(left(split_part(error_message, E'\\n', 1), ${PREVIEW_CHARS}), '') AS error_line`;

interface SummaryRow extends JobCoreRow {
  prompt_preview: string;
  error_line: string | null;
}

function toSummary(row: SummaryRow): JobSummary {
  return { ...toJobCore(row), promptPreview: row.prompt_preview.replace(/\s+/g, ' ').trim(), errorLine: row.error_line };
}

/** The list's order: newest first, enqueue order breaking ties of equal times. */
const KEY = '(created_at, enqueue_seq)';
const cursorKey = (param: string) => `(SELECT created_at, enqueue_seq FROM jobs WHERE id = ${param})`;

/** One page of the list, where it sits in the whole list, and how many jobs "stop all running" would stop. */
export async function readJobListPage(db: Queryable, query: JobListQuery): Promise<JobListPage> {
  const { where, params } = conditions(query);
  const filter = where.length > 0 ? where.join(' AND ') : 'true';
  const cursor = query.before ?? query.after;
  const pageWhere = cursor ? `${filter} AND ${KEY} ${query.before ? '<' : '>'} ${cursorKey(`$${params.length + 1}::uuid`)}` : filter;
  // A page newer than a job, or the oldest page, is read from its bottom up.
  const newerFirst = query.after === undefined && !query.oldest;
  const { rows } = await db.query<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM jobs WHERE ${pageWhere}
      ORDER BY created_at ${newerFirst ? 'DESC' : 'ASC'}, enqueue_seq ${newerFirst ? 'DESC' : 'ASC'} LIMIT ${query.limit}`,
    cursor ? [...params, cursor] : params,
  );
  if (!newerFirst) rows.reverse();
  const first = rows[0];
  // One pass over the filter's jobs counts them all and those above the page.
  const { rows: counts } = await db.query<{ total: number; offset: number }>(
    `SELECT count(*)::integer AS total,
            ${first ? `count(*) FILTER (WHERE ${KEY} > ${cursorKey(`$${params.length + 1}::uuid`)})::integer` : '0'} AS offset
       FROM jobs WHERE ${filter}`,
    first ? [...params, first.id] : params,
  );
  const { rows: running } = await db.query<{ running: number }>(
    `SELECT count(*)::integer AS running FROM jobs WHERE status IN ('claimed', 'streaming') AND ($1::text IS NULL OR company_id = $1)`,
    [query.companyId ?? null],
  );
  const [count] = counts;
  const [runningCount] = running;
  if (count === undefined || runningCount === undefined) throw new Error('a count(*) query of the job list answered no row');
  const total = Number(count.total);
  const offset = first ? Number(count.offset) : 0;
  return {
    jobs: rows.map(toSummary),
    total,
    offset,
    hasNewer: offset > 0,
    hasOlder: offset + rows.length < total,
    running: Number(runningCount.running),
  };
}

/** The companies and agent names that have jobs, the most used first: what the list's filters offer. */
export async function jobFacets(db: Queryable): Promise<JobFacets> {
  const values = async (column: 'company_id' | 'agent_name') =>
    (
      await db.query<{ value: string }>(
        `SELECT ${column} AS value FROM jobs GROUP BY ${column} ORDER BY count(*) DESC, ${column} LIMIT ${MAX_FACETS}`,
      )
    ).rows
      .map((row) => row.value)
      .sort((a, b) => a.localeCompare(b));
  return { companies: await values('company_id'), agents: await values('agent_name') };
}

/** What the page shows, to tell whether it changed: every row, and where it sits. */
interface SentPage {
  rows: Map<string, string>;
  order: string;
  position: string;
}

/** What the client holds once it was sent `page` whole. */
function sentPage({ jobs, ...position }: JobListPage): SentPage {
  const rows = new Map(jobs.map((job) => [job.jobId, JSON.stringify(job)]));
  return { rows, order: jobs.map((job) => job.jobId).join(','), position: JSON.stringify(position) };
}

/**
 * The message that brings a client from what it was sent to this page: undefined when nothing changed, else the
 * rows that are new or changed, the page's order, and its position.
 */
export function pageChanges(sent: SentPage, page: JobListPage): { changes: JobListChanges; next: SentPage } | undefined {
  const { jobs, ...position } = page;
  const next = sentPage(page);
  const { rows } = next;
  const upsert = jobs.filter((job) => sent.rows.get(job.jobId) !== rows.get(job.jobId));
  if (upsert.length === 0 && next.order === sent.order && next.position === sent.position) return undefined;
  return { changes: { ...position, upsert, order: jobs.map((job) => job.jobId) }, next };
}

/**
 * The list's stream: `page` with the whole page first, then `changes` whenever a job on it (or the page's place
 * in the list) changed: the changed rows only, not the page again. Woken by any job's change (and re-checked now
 * and then in case a notification was lost), throttled so busy jobs cost little.
 */
export async function streamJobListPage(
  res: ServerResponse,
  options: { db: Queryable; changes: WakeHub; query: JobListQuery; signal: AbortSignal; recheckMs?: number },
): Promise<void> {
  const { db, changes, query, signal } = options;
  await writeChunk(res, `retry: ${RECONNECT_MS}\n\n`, signal);
  const first = await readJobListPage(db, query);
  let sent = sentPage(first);
  await sendMessage(res, { event: 'page', data: first }, signal);
  while (!signal.aborted) {
    const changed = await longPoll({
      hub: changes,
      topic: ANY_JOB_TOPIC,
      waitMs: KEEPALIVE_MS,
      recheckMs: options.recheckMs ?? 2000,
      signal,
      check: async () => pageChanges(sent, await readJobListPage(db, query)),
    });
    if (signal.aborted) return;
    if (changed === undefined) {
      await writeChunk(res, ': keep-alive\n\n', signal);
      continue;
    }
    sent = changed.next;
    await sendMessage(res, { event: 'changes', data: changed.changes }, signal);
    await sleep(JOB_LIST_THROTTLE_MS, undefined, { signal }).catch(() => {});
  }
}
