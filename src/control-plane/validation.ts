/**
 * Every check on input from outside: runner request bodies and admin inputs. Each failure is a 400
 * `invalid_request` whose message names the field, says what was wrong and what a valid value looks like.
 * Validation happens before any write, so a rejected request changes nothing.
 */
import {
  EVENT_KINDS,
  MAX_EVENTS_PER_BATCH,
  type CompletionBody,
  type EventKind,
  type RunnerEvent,
} from '../protocol/types.js';
import { invalidRequest } from './errors.js';
import {
  COMPLETION_STATUSES,
  JOB_STATUSES,
  type CreateTokenInput,
  type EnqueueJobInput,
  type JobStatus,
  type ListJobsFilter,
  type ListTokensFilter,
} from './types.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ISO-8601 date-time with an explicit offset, as the protocol requires (`2025-01-02T03:04:05.678Z`). */
const ISO_TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** Company ids are opaque, but kept printable and short so they are safe in URLs, logs and NOTIFY payloads. */
const COMPANY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const INT32_MAX = 2_147_483_647;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function requireObject(body: unknown, what: string): Obj {
  if (!isObject(body)) throw invalidRequest(`The ${what} must be a JSON object (got ${describe(body)}).`);
  return body;
}

/** Postgres text cannot hold NUL; refusing it here gives a 400 instead of a database error. */
function noNul(value: string, field: string): string {
  if (value.includes('\0')) throw invalidRequest(`${field} contains a NUL character; remove it and send again.`);
  return value;
}

function requiredString(obj: Obj, field: string, hint: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidRequest(`${field} is required and must be a non-empty string (${hint}); got ${describe(value)}.`);
  }
  return noNul(value, field);
}

function optionalString(obj: Obj, field: string): string | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${field} must be a string when given; got ${describe(value)}.`);
  return noNul(value, field);
}

function optionalNullableString(obj: Obj, field: string): string | null | undefined {
  return obj[field] === null ? null : optionalString(obj, field);
}

function optionalPositiveInt(obj: Obj, field: string): number | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > INT32_MAX) {
    throw invalidRequest(`${field} must be a positive integer when given; got ${describe(value)}.`);
  }
  return value as number;
}

export function parseCompanyId(value: unknown, field = 'companyId'): string {
  if (typeof value !== 'string' || !COMPANY_ID_PATTERN.test(value)) {
    throw invalidRequest(
      `${field} must be 1-128 letters, digits or . _ : - starting with a letter or digit (e.g. "acme"); got ${describe(value)}.`,
    );
  }
  return value;
}

// ---- runner bodies ----

export function parseEventBatch(body: unknown): RunnerEvent[] {
  const obj = requireObject(body, 'events request body');
  const events = obj.events;
  if (!Array.isArray(events)) {
    throw invalidRequest(`The body must be {"events": [...]} with 1 to ${MAX_EVENTS_PER_BATCH} events; "events" is ${describe(events)}.`);
  }
  if (events.length < 1 || events.length > MAX_EVENTS_PER_BATCH) {
    throw invalidRequest(
      `A batch holds 1 to ${MAX_EVENTS_PER_BATCH} events; this one has ${events.length}. ` +
        (events.length === 0 ? 'Do not send empty batches.' : 'Split it into smaller batches.'),
    );
  }
  return events.map((event, i) => parseEvent(event, `events[${i}]`));
}

function parseEvent(value: unknown, at: string): RunnerEvent {
  if (!isObject(value)) throw invalidRequest(`${at} must be an object {eventId, kind, ts, payload?, seq?}; got ${describe(value)}.`);
  const { eventId, kind, ts, seq, payload } = value;
  if (!isUuid(eventId)) {
    throw invalidRequest(`${at}.eventId must be a UUID (e.g. from crypto.randomUUID()); got ${describe(eventId)}.`);
  }
  if (typeof kind !== 'string' || !(EVENT_KINDS as readonly string[]).includes(kind)) {
    throw invalidRequest(`${at}.kind must be one of ${EVENT_KINDS.join(', ')}; got ${describe(kind)}.`);
  }
  if (typeof ts !== 'string' || !ISO_TIMESTAMP_PATTERN.test(ts) || Number.isNaN(Date.parse(ts))) {
    throw invalidRequest(`${at}.ts must be an ISO-8601 time with an offset, like new Date().toISOString(); got ${describe(ts)}.`);
  }
  if (seq !== undefined && (!Number.isInteger(seq) || (seq as number) < 0 || (seq as number) > INT32_MAX)) {
    throw invalidRequest(`${at}.seq must be a non-negative integer (the line's position, from 0) when given; got ${describe(seq)}.`);
  }
  const event: RunnerEvent = { eventId: eventId.toLowerCase(), kind: kind as EventKind, ts };
  if (payload !== undefined) event.payload = payload as RunnerEvent['payload'];
  if (seq !== undefined) event.seq = seq as number;
  return event;
}

export function parseCompletion(body: unknown): CompletionBody {
  const obj = requireObject(body, 'completion body');
  const { status, exitCode, elapsedSec, costMicros } = obj;
  if (typeof status !== 'string' || !(COMPLETION_STATUSES as readonly string[]).includes(status)) {
    throw invalidRequest(`status must be one of ${COMPLETION_STATUSES.join(', ')}; got ${describe(status)}.`);
  }
  if (!Number.isInteger(exitCode) || Math.abs(exitCode as number) > INT32_MAX) {
    throw invalidRequest(`exitCode must be an integer (the agent's exit code); got ${describe(exitCode)}.`);
  }
  if (elapsedSec !== undefined && elapsedSec !== null && (typeof elapsedSec !== 'number' || !Number.isFinite(elapsedSec) || elapsedSec < 0)) {
    throw invalidRequest(`elapsedSec must be a non-negative number of seconds; got ${describe(elapsedSec)}.`);
  }
  if (costMicros !== undefined && costMicros !== null && (!Number.isSafeInteger(costMicros) || (costMicros as number) < 0)) {
    throw invalidRequest(`costMicros must be a non-negative integer (US dollars x 1,000,000, e.g. 0.0412 -> 41200); got ${describe(costMicros)}.`);
  }
  const completion: CompletionBody = { status: status as CompletionBody['status'], exitCode: exitCode as number };
  if (typeof elapsedSec === 'number') completion.elapsedSec = elapsedSec;
  if (typeof costMicros === 'number') completion.costMicros = costMicros;
  const signal = optionalNullableString(obj, 'signal');
  if (signal !== undefined) completion.signal = signal;
  const sessionId = optionalNullableString(obj, 'sessionId');
  if (sessionId !== undefined) completion.sessionId = sessionId;
  const cliVersion = optionalString(obj, 'cliVersion');
  if (cliVersion !== undefined) completion.cliVersion = cliVersion;
  const errorMessage = optionalNullableString(obj, 'errorMessage');
  if (errorMessage !== undefined) completion.errorMessage = errorMessage;
  return completion;
}

// ---- admin inputs ----

export function parseCreateTokenInput(input: unknown): Required<CreateTokenInput> {
  const obj = requireObject(input, 'token request');
  return { companyId: parseCompanyId(obj.companyId), name: optionalString(obj, 'name') ?? '' };
}

export function parseListTokensFilter(input: unknown): ListTokensFilter {
  const obj = requireObject(input ?? {}, 'token filter');
  const filter: ListTokensFilter = { includeRevoked: obj.includeRevoked === true };
  if (obj.companyId !== undefined) filter.companyId = parseCompanyId(obj.companyId);
  return filter;
}

export function parseEnqueueInput(input: unknown): EnqueueJobInput {
  const obj = requireObject(input, 'job');
  const job: EnqueueJobInput = {
    companyId: parseCompanyId(obj.companyId),
    agentName: requiredString(obj, 'agentName', 'the agent the runner shows, e.g. "Sarah"'),
    prompt: requiredString(obj, 'prompt', 'what the agent should do'),
  };
  for (const field of ['agentId', 'adapterType', 'model', 'sessionId', 'instructionsFileContent'] as const) {
    const value = optionalString(obj, field);
    if (value !== undefined) job[field] = value;
  }
  for (const field of ['maxTurns', 'timeoutSec'] as const) {
    const value = optionalPositiveInt(obj, field);
    if (value !== undefined) job[field] = value;
  }
  if (obj.addDirs !== undefined && obj.addDirs !== null) {
    if (!Array.isArray(obj.addDirs) || obj.addDirs.some((dir) => typeof dir !== 'string' || dir === '')) {
      throw invalidRequest(`addDirs must be an array of directory paths (non-empty strings); got ${describe(obj.addDirs)}.`);
    }
    job.addDirs = (obj.addDirs as string[]).map((dir, i) => noNul(dir, `addDirs[${i}]`));
  }
  if (obj.runtimeConfig !== undefined && obj.runtimeConfig !== null) {
    job.runtimeConfig = requireObject(obj.runtimeConfig, 'runtimeConfig');
  }
  return job;
}

export function parseJobStatus(value: unknown): JobStatus {
  if (typeof value !== 'string' || !(JOB_STATUSES as readonly string[]).includes(value)) {
    throw invalidRequest(`status must be one of ${JOB_STATUSES.join(', ')}; got ${describe(value)}.`);
  }
  return value as JobStatus;
}

export function parseListJobsFilter(input: unknown): Required<Pick<ListJobsFilter, 'limit'>> & ListJobsFilter {
  const obj = requireObject(input ?? {}, 'job filter');
  const filter: Required<Pick<ListJobsFilter, 'limit'>> & ListJobsFilter = {
    limit: intInRange(obj.limit, 'limit', 1, 1000, 50),
  };
  if (obj.status !== undefined) filter.status = parseJobStatus(obj.status);
  if (obj.companyId !== undefined) filter.companyId = parseCompanyId(obj.companyId);
  return filter;
}

export function parseEventCursor(value: unknown): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  if (typeof value !== 'string' || !/^\d{1,19}$/.test(value)) {
    throw invalidRequest(`after must be a cursor returned as nextCursor by an earlier call; got ${describe(value)}.`);
  }
  return BigInt(value);
}

export function intInRange(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidRequest(`${field} must be an integer from ${min} to ${max}; got ${describe(value)}.`);
  }
  return value as number;
}

export function parseJobId(value: unknown): string {
  if (!isUuid(value)) throw invalidRequest(`A job id is a UUID (as shown by "jobs list"); got ${describe(value)}.`);
  return value.toLowerCase();
}

export function parseTokenId(value: unknown): string {
  if (!isUuid(value)) throw invalidRequest(`A token id is a UUID (as shown by "tokens list"); got ${describe(value)}.`);
  return value.toLowerCase();
}
