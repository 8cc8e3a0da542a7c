/** Short, readable text output for the admin CLI (its --json output is the API's own JSON). */
import type { JobDetail, JobRecord, StoredEvent, TokenInfo } from '../../control-plane/types.js';
import { escapeControls } from '../../protocol/escape-controls.js';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], cells: ReadonlyArray<readonly string[]>): string {
  const rows = cells.map((row) => row.map((cell) => escapeControls(cell)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** "2025-01-02 03:04:05" (UTC), or "-". */
function when(iso: string | null): string {
  return iso === null ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

function tokenStatus(token: TokenInfo, now: number): string {
  if (token.revokedAt) return 'revoked';
  return Date.parse(token.expiresAt) <= now ? 'expired' : 'active';
}

export function tokensTable(tokens: readonly TokenInfo[], now = Date.now()): string {
  if (tokens.length === 0) return 'No tokens. Create one with "founderos-runner admin tokens create --company <id>".\n';
  return table(
    ['TOKEN ID', 'COMPANY', 'PREVIEW', 'STATUS', 'CREATED (UTC)', 'EXPIRES (UTC)', 'LAST USED', 'NAME'],
    tokens.map((t) => [
      t.tokenId,
      t.companyId,
      t.preview,
      tokenStatus(t, now),
      when(t.createdAt),
      when(t.expiresAt),
      when(t.lastUsedAt),
      t.name,
    ]),
  );
}

/** The RESULT column: an error message can be 64 Ki characters; `jobs show` prints it whole. */
const MAX_RESULT_CHARS = 100;

function outcome(job: JobRecord): string {
  if (job.errorMessage)
    return job.errorMessage.length > MAX_RESULT_CHARS ? `${job.errorMessage.slice(0, MAX_RESULT_CHARS - 3)}...` : job.errorMessage;
  if (job.exitCode !== null) return `exit ${job.exitCode}`;
  return '';
}

export function jobsTable(jobs: readonly JobRecord[]): string {
  if (jobs.length === 0) return 'No jobs.\n';
  return table(
    ['JOB ID', 'STATUS', 'COMPANY', 'AGENT', 'CREATED (UTC)', 'RESULT'],
    jobs.map((j) => [j.jobId, j.status, j.companyId, j.agentName, when(j.createdAt), outcome(j)]),
  );
}

export function jobDetails(job: JobDetail): string {
  const cost = job.costMicros === null ? null : `$${(job.costMicros / 1_000_000).toFixed(4)}`;
  const fields: Array<[string, string | number | null]> = [
    ['job', job.jobId],
    ['status', job.status],
    ['company', job.companyId],
    ['agent', `${job.agentName} (${job.agentId})`],
    ['adapter', job.adapterType ?? 'claude_local (default)'],
    ['session', job.sessionId],
    ['runtime', Object.keys(job.runtimeConfig).length > 0 ? JSON.stringify(job.runtimeConfig) : null],
    ['add dirs', job.addDirs.length > 0 ? job.addDirs.join(', ') : null],
    ['attempt', job.attempt],
    ['created', job.createdAt],
    ['claimed', job.claimedAt],
    ['lease until', job.leaseExpiresAt],
    ['completed', job.completedAt],
    ['exit code', job.exitCode],
    ['signal', job.signal],
    ['elapsed', job.elapsedSec === null ? null : `${job.elapsedSec}s`],
    ['cost', cost],
    ['result session', job.resultSessionId],
    ['cli version', job.cliVersion],
    ['error', job.errorMessage],
    ['events', job.eventCount],
    ['prompt', job.prompt.length > 200 ? `${job.prompt.slice(0, 197)}...` : job.prompt],
  ];
  return `${fields
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${`${name}:`.padEnd(16)}${escapeControls(String(value))}`)
    .join('\n')}\n`;
}

/** One line per event: position, time, kind, then the raw line (text) or the JSON payload. */
export function eventLine(event: StoredEvent): string {
  const position = event.seq === null ? '-' : `#${event.seq}`;
  const payload = typeof event.payload === 'string' ? event.payload : JSON.stringify(event.payload ?? null);
  return `${position} ${event.ts.slice(11, 23)} ${event.kind} ${escapeControls(payload)}\n`;
}
