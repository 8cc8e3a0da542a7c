/**
 * Every check on input from outside. Runner request bodies go through the protocol's schemas
 * (src/protocol/schemas.ts), the module the runner reads the server's answers with, so the two sides cannot disagree
 * on a shape; admin inputs are checked here, with the same limits and, for how a job runs, the same schema entries.
 * Each failure is a 400 `invalid_request` whose message names the field, says what was wrong and what a valid value
 * looks like. Validation happens before any write, so a rejected request changes nothing.
 */
import * as v from 'valibot';
import {
  check,
  CompletionSchema,
  EventsBatchSchema,
  HeartbeatSchema,
  isUuid,
  storedRuntimeConfigEntries,
  StoredRuntimeConfigSchema,
  TEXT_LIMITS,
  type CompletionBody,
  type RunnerEvent,
} from '../protocol/schemas.js';
import { unstorableReason } from '../protocol/storable-json.js';
import { describeValue, isObject, type JsonObject } from '../protocol/values.js';
import { invalidRequest } from './errors.js';
import {
  JOB_STATUSES,
  type CreateTokenInput,
  type RotateTokenInput,
  type EnqueueJobInput,
  type JobStatus,
  type ListJobsFilter,
  type ListTokensFilter,
} from './types.js';

/** Company ids are opaque, but kept printable and short so they are safe in URLs, logs and NOTIFY payloads. */
const COMPANY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** The largest PostgreSQL bigint: an event cursor past it cannot exist. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;
export const MAX_ADD_DIRS = 64;
/** A token lives at most ten years. */
export const MAX_TOKEN_TTL_SEC = 10 * 365 * 24 * 3600;

/** The most problems one refusal lists: enough to fix a body in one go, short enough to read. */
const MAX_PROBLEMS_SHOWN = 3;

/** `body` as `schema` reads it, or a 400 naming the first problems, each with its field, the value and what was expected. */
function checked<const S extends v.GenericSchema>(schema: S, body: unknown, what: string): v.InferOutput<S> {
  const result = check(schema, body, 'the body');
  if (result.ok) return result.value;
  const { problems } = result;
  const more = problems.length > MAX_PROBLEMS_SHOWN ? ` (and ${problems.length - MAX_PROBLEMS_SHOWN} more problems)` : '';
  throw invalidRequest(
    `The ${what} was refused: ${problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ')}${more}. Correct it and send it again.`,
  );
}

export function requireObject(body: unknown, what: string): JsonObject {
  if (!isObject(body)) throw invalidRequest(`The ${what} must be a JSON object (got ${describeValue(body)}).`);
  return body;
}

/**
 * JSON the database stores as it came: the shared rule of `storable-json` (no NUL, no lone surrogate, nesting
 * within MAX_JSON_DEPTH), the same the runner repairs lines to. jsonb refuses the first two and text mangles them.
 */
function storable<T>(value: T, field: string): T {
  const reason = unstorableReason(value);
  if (reason !== undefined) throw invalidRequest(`${field} cannot be stored (${reason}).`);
  return value;
}

/** Free text: storable, and at most `max` characters. */
function text(value: string, field: string, max: number): string {
  if (value.length > max) {
    throw invalidRequest(`${field} is ${value.length} characters long; the limit is ${max}. Shorten it (or put long text in the events).`);
  }
  return storable(value, field);
}

function requiredString(obj: JsonObject, field: string, max: number, hint: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidRequest(`${field} is required and must be a non-empty string (${hint}); got ${describeValue(value)}.`);
  }
  return text(value, field, max);
}

/** `label` names the field in messages when it is not at the top of the body (`runtimeConfig.model`). */
function optionalString(obj: JsonObject, field: string, max: number, label = field): string | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${label} must be a string when given; got ${describeValue(value)}.`);
  return text(value, label, max);
}

export function parseCompanyId(value: unknown, field = 'companyId'): string {
  if (typeof value !== 'string' || !COMPANY_ID_PATTERN.test(value)) {
    throw invalidRequest(
      `${field} must be 1-128 letters, digits or . _ : - starting with a letter or digit (e.g. "acme"); got ${describeValue(value)}.`,
    );
  }
  return value;
}

// ---- runner bodies: the protocol's schemas ----

export function parseEventBatch(body: unknown): RunnerEvent[] {
  return checked(EventsBatchSchema, body, 'events batch').events;
}

export function parseCompletion(body: unknown): CompletionBody {
  return checked(CompletionSchema, body, 'completion');
}

export function parseHeartbeat(body: unknown): void {
  checked(HeartbeatSchema, body, 'heartbeat');
}

// ---- admin inputs ----

function optionalSeconds(obj: JsonObject, field: string, min: number): number | undefined {
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

/**
 * How the job runs: runtimeConfig as the control plane stores it (what the runner reads, capped), and the job's
 * shortcuts for its keys (`model`, `maxTurns`, …), checked by the same entries under their own names.
 */
const RunSettingsSchema = v.looseObject({ ...storedRuntimeConfigEntries, runtimeConfig: v.nullish(StoredRuntimeConfigSchema) });

export function parseEnqueueInput(input: unknown): EnqueueJobInput {
  const obj = requireObject(input, 'job');
  const job: EnqueueJobInput = {
    companyId: parseCompanyId(obj.companyId),
    agentName: requiredString(obj, 'agentName', TEXT_LIMITS.short, 'the agent the runner shows, e.g. "Sarah"'),
    prompt: requiredString(obj, 'prompt', TEXT_LIMITS.document, 'what the agent should do'),
  };
  for (const [field, max] of [
    ['agentId', TEXT_LIMITS.short],
    ['adapterType', TEXT_LIMITS.short],
    ['sessionId', TEXT_LIMITS.sessionId],
  ] as const) {
    const value = optionalString(obj, field, max);
    if (value !== undefined) job[field] = value;
  }
  const { model, maxTurns, timeoutSec, instructionsFileContent } = checked(RunSettingsSchema, obj, 'job');
  if (model != null) job.model = model;
  if (maxTurns != null) job.maxTurns = maxTurns;
  if (timeoutSec != null) job.timeoutSec = timeoutSec;
  if (instructionsFileContent != null) job.instructionsFileContent = instructionsFileContent;
  if (obj.addDirs !== undefined && obj.addDirs !== null) {
    if (
      !Array.isArray(obj.addDirs) ||
      obj.addDirs.some((dir) => typeof dir !== 'string' || dir === '') ||
      obj.addDirs.length > MAX_ADD_DIRS
    ) {
      throw invalidRequest(
        `addDirs must be an array of at most ${MAX_ADD_DIRS} directory paths (non-empty strings); got ${describeValue(obj.addDirs)}.`,
      );
    }
    job.addDirs = (obj.addDirs as string[]).map((dir, i) => text(dir, `addDirs[${i}]`, TEXT_LIMITS.path));
  }
  // Stored as it came (the check's output would be a copy): keys the runner does not read are the adapters'.
  if (isObject(obj.runtimeConfig)) job.runtimeConfig = obj.runtimeConfig;
  return job;
}

export function parseJobStatus(value: unknown): JobStatus {
  if (typeof value !== 'string' || !(JOB_STATUSES as readonly string[]).includes(value)) {
    throw invalidRequest(`status must be one of ${JOB_STATUSES.join(', ')}; got ${describeValue(value)}.`);
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
    throw invalidRequest(
      `after must be a cursor returned as nextCursor by an earlier call (0 to ${BIGINT_MAX}); got ${describeValue(value)}.`,
    );
  }
  return BigInt(value);
}

export function intInRange(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidRequest(`${field} must be an integer from ${min} to ${max}; got ${describeValue(value)}.`);
  }
  return value as number;
}

export function parseJobId(value: unknown): string {
  if (!isUuid(value)) throw invalidRequest(`A job id is a UUID (as shown by "jobs list"); got ${describeValue(value)}.`);
  return value.toLowerCase();
}

export function parseTokenId(value: unknown): string {
  if (!isUuid(value)) throw invalidRequest(`A token id is a UUID (as shown by "tokens list"); got ${describeValue(value)}.`);
  return value.toLowerCase();
}
