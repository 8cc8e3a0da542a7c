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
import { findUnstorable, MAX_JSON_DEPTH } from '../protocol/storable-json.js';
import { invalidRequest } from './errors.js';
import {
  COMPLETION_STATUSES,
  JOB_STATUSES,
  type CreateTokenInput,
  type RotateTokenInput,
  type EnqueueJobInput,
  type JobStatus,
  type ListJobsFilter,
  type ListTokensFilter,
} from './types.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ISO-8601 date-time with an explicit offset, as the protocol requires (`2025-01-02T03:04:05.678Z`). */
const ISO_TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
/** Company ids are opaque, but kept printable and short so they are safe in URLs, logs and NOTIFY payloads. */
const COMPANY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;
/** The largest PostgreSQL bigint: an event cursor past it cannot exist. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;

/**
 * Caps on free text, in characters. Each is far above any honest value (the runner sends an error message of at
 * most 2,000 characters; signals, versions and names are a few dozen), and small enough that no field of a
 * request can fill the database or a terminal.
 */
export const TEXT_LIMITS = {
  errorMessage: 64 * 1024,
  /** Agent and token names, adapter type, model, agent id, signal, CLI version. */
  short: 256,
  sessionId: 1024,
  /** A directory path (Linux's PATH_MAX). */
  path: 4096,
  /** The prompt and the instructions file: a whole context window of text. */
  document: 1024 * 1024,
} as const;
export const MAX_ADD_DIRS = 64;
/** A job runs an hour at most; a year of elapsed time is already a bug, 1e308 seconds is garbage. */
export const MAX_ELAPSED_SEC = 365 * 24 * 3600;
/** US$1,000,000 for one job: no agent run costs that; the bound keeps a corrupt figure out of the totals. */
export const MAX_COST_MICROS = 1_000_000 * 1_000_000;
/** A token lives at most ten years. */
export const MAX_TOKEN_TTL_SEC = 10 * 365 * 24 * 3600;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A value nested deeper than the call stack: say so instead of failing the request with a 500.
    return '(a value nested too deeply to show)';
  }
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function requireObject(body: unknown, what: string): Obj {
  if (!isObject(body)) throw invalidRequest(`The ${what} must be a JSON object (got ${describe(body)}).`);
  return body;
}

/**
 * JSON the database stores as it came: the shared rule of `storable-json` (no NUL, no lone surrogate, nesting
 * within MAX_JSON_DEPTH), the same the runner repairs lines to. jsonb refuses the first two and text mangles them.
 */
function storable<T>(value: T, field: string): T {
  const problem = findUnstorable(value);
  if (problem === undefined) return value;
  const fix =
    problem.reason === 'too_deep'
      ? `send what nests deeper than ${MAX_JSON_DEPTH} levels as text (a JSON string) instead`
      : 'replace NUL characters and lone surrogates with U+FFFD (as the runner does) and send again';
  // The detail quotes the path, whose keys can be as long as the body: keep the answer short.
  const detail = problem.detail.length > 300 ? `${problem.detail.slice(0, 297)}...` : problem.detail;
  throw invalidRequest(`${field} cannot be stored (${detail}); ${fix}.`);
}

/** Free text: storable, and at most `max` characters. */
function text(value: string, field: string, max: number): string {
  if (value.length > max) {
    throw invalidRequest(`${field} is ${value.length} characters long; the limit is ${max}. Shorten it (or put long text in the events).`);
  }
  return storable(value, field);
}

function requiredString(obj: Obj, field: string, max: number, hint: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidRequest(`${field} is required and must be a non-empty string (${hint}); got ${describe(value)}.`);
  }
  return text(value, field, max);
}

/** `label` names the field in messages when it is not at the top of the body (`runtimeConfig.model`). */
function optionalString(obj: Obj, field: string, max: number, label = field): string | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${label} must be a string when given; got ${describe(value)}.`);
  return text(value, label, max);
}

function optionalNullableString(obj: Obj, field: string, max: number): string | null | undefined {
  return obj[field] === null ? null : optionalString(obj, field, max);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * An ISO-8601 time with an offset that names a real instant. `Date.parse` accepts 30 February and 24:00 (rolling
 * them over), PostgreSQL refuses them: check the calendar here so such a value is a 400, not a database error.
 */
export function isIsoTimestamp(value: unknown): value is string {
  const m = typeof value === 'string' ? ISO_TIMESTAMP_PATTERN.exec(value) : null;
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((part) => Number(part ?? 0));
  const daysInMonth = month === 2 && isLeapYear(year!) ? 29 : DAYS_IN_MONTH[month! - 1];
  return (
    year! >= 1 &&
    daysInMonth !== undefined &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHours <= 15 &&
    offsetMinutes <= 59
  );
}

function optionalPositiveInt(obj: Obj, field: string, label = field): number | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > INT32_MAX) {
    throw invalidRequest(`${label} must be a positive integer when given; got ${describe(value)}.`);
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
  if (!isIsoTimestamp(ts)) {
    throw invalidRequest(`${at}.ts must be a real ISO-8601 time with an offset, like new Date().toISOString(); got ${describe(ts)}.`);
  }
  if (seq !== undefined && (!Number.isInteger(seq) || (seq as number) < 0 || (seq as number) > INT32_MAX)) {
    throw invalidRequest(`${at}.seq must be a non-negative integer (the line's position, from 0) when given; got ${describe(seq)}.`);
  }
  const event: RunnerEvent = { eventId: eventId.toLowerCase(), kind: kind as EventKind, ts };
  if (payload !== undefined) event.payload = storable(payload, `${at}.payload`) as RunnerEvent['payload'];
  if (seq !== undefined) event.seq = seq as number;
  return event;
}

export function parseCompletion(body: unknown): CompletionBody {
  const obj = requireObject(body, 'completion body');
  const { status, exitCode, elapsedSec, costMicros } = obj;
  if (typeof status !== 'string' || !(COMPLETION_STATUSES as readonly string[]).includes(status)) {
    throw invalidRequest(`status must be one of ${COMPLETION_STATUSES.join(', ')}; got ${describe(status)}.`);
  }
  if (!Number.isInteger(exitCode) || (exitCode as number) < INT32_MIN || (exitCode as number) > INT32_MAX) {
    throw invalidRequest(`exitCode must be an integer from ${INT32_MIN} to ${INT32_MAX} (the agent's exit code); got ${describe(exitCode)}.`);
  }
  if (
    elapsedSec !== undefined &&
    elapsedSec !== null &&
    (typeof elapsedSec !== 'number' || !Number.isFinite(elapsedSec) || elapsedSec < 0 || elapsedSec > MAX_ELAPSED_SEC)
  ) {
    throw invalidRequest(`elapsedSec must be a number of seconds from 0 to ${MAX_ELAPSED_SEC} (a year); got ${describe(elapsedSec)}.`);
  }
  if (
    costMicros !== undefined &&
    costMicros !== null &&
    (!Number.isSafeInteger(costMicros) || (costMicros as number) < 0 || (costMicros as number) > MAX_COST_MICROS)
  ) {
    throw invalidRequest(
      `costMicros must be an integer from 0 to ${MAX_COST_MICROS} (US dollars x 1,000,000, e.g. 0.0412 -> 41200); got ${describe(costMicros)}.`,
    );
  }
  const completion: CompletionBody = { status: status as CompletionBody['status'], exitCode: exitCode as number };
  if (typeof elapsedSec === 'number') completion.elapsedSec = elapsedSec;
  if (typeof costMicros === 'number') completion.costMicros = costMicros;
  const signal = optionalNullableString(obj, 'signal', TEXT_LIMITS.short);
  if (signal !== undefined) completion.signal = signal;
  const sessionId = optionalNullableString(obj, 'sessionId', TEXT_LIMITS.sessionId);
  if (sessionId !== undefined) completion.sessionId = sessionId;
  const cliVersion = optionalString(obj, 'cliVersion', TEXT_LIMITS.short);
  if (cliVersion !== undefined) completion.cliVersion = cliVersion;
  const errorMessage = optionalNullableString(obj, 'errorMessage', TEXT_LIMITS.errorMessage);
  if (errorMessage !== undefined) completion.errorMessage = errorMessage;
  return completion;
}

// ---- admin inputs ----

function optionalSeconds(obj: Obj, field: string, min: number): number | undefined {
  const value = obj[field];
  return value === undefined || value === null ? undefined : intInRange(value, field, min, MAX_TOKEN_TTL_SEC, 0);
}

export function parseCreateTokenInput(input: unknown): CreateTokenInput & { name: string } {
  const obj = requireObject(input, 'token request');
  return {
    companyId: parseCompanyId(obj.companyId),
    name: optionalString(obj, 'name', TEXT_LIMITS.short) ?? '',
    ttlSec: optionalSeconds(obj, 'ttlSec', 1),
  };
}

export function parseRotateTokenInput(input: unknown): RotateTokenInput {
  const obj = requireObject(input, 'token rotation');
  return { tokenId: parseTokenId(obj.tokenId), ttlSec: optionalSeconds(obj, 'ttlSec', 1), graceSec: optionalSeconds(obj, 'graceSec', 0) };
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
    agentName: requiredString(obj, 'agentName', TEXT_LIMITS.short, 'the agent the runner shows, e.g. "Sarah"'),
    prompt: requiredString(obj, 'prompt', TEXT_LIMITS.document, 'what the agent should do'),
  };
  const limits = {
    agentId: TEXT_LIMITS.short,
    adapterType: TEXT_LIMITS.short,
    model: TEXT_LIMITS.short,
    sessionId: TEXT_LIMITS.sessionId,
    instructionsFileContent: TEXT_LIMITS.document,
  } as const;
  for (const [field, max] of Object.entries(limits) as Array<[keyof typeof limits, number]>) {
    const value = optionalString(obj, field, max);
    if (value !== undefined) job[field] = value;
  }
  for (const field of ['maxTurns', 'timeoutSec'] as const) {
    const value = optionalPositiveInt(obj, field);
    if (value !== undefined) job[field] = value;
  }
  if (obj.addDirs !== undefined && obj.addDirs !== null) {
    if (!Array.isArray(obj.addDirs) || obj.addDirs.some((dir) => typeof dir !== 'string' || dir === '') || obj.addDirs.length > MAX_ADD_DIRS) {
      throw invalidRequest(`addDirs must be an array of at most ${MAX_ADD_DIRS} directory paths (non-empty strings); got ${describe(obj.addDirs)}.`);
    }
    job.addDirs = (obj.addDirs as string[]).map((dir, i) => text(dir, `addDirs[${i}]`, TEXT_LIMITS.path));
  }
  if (obj.runtimeConfig !== undefined && obj.runtimeConfig !== null) {
    const runtimeConfig = storable(requireObject(obj.runtimeConfig, 'runtimeConfig'), 'runtimeConfig');
    // The keys the runner reads get the protocol's types, however they were given.
    optionalString(runtimeConfig, 'model', limits.model, 'runtimeConfig.model');
    optionalString(runtimeConfig, 'instructionsFileContent', limits.instructionsFileContent, 'runtimeConfig.instructionsFileContent');
    optionalPositiveInt(runtimeConfig, 'maxTurns', 'runtimeConfig.maxTurns');
    optionalPositiveInt(runtimeConfig, 'timeoutSec', 'runtimeConfig.timeoutSec');
    job.runtimeConfig = runtimeConfig;
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
  if (typeof value !== 'string' || !/^\d{1,19}$/.test(value) || BigInt(value) > BIGINT_MAX) {
    throw invalidRequest(`after must be a cursor returned as nextCursor by an earlier call (0 to ${BIGINT_MAX}); got ${describe(value)}.`);
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
