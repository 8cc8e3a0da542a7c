/**
 * The wire shapes, one valibot schema each: what the runner reads from a control plane (a queued job, a claimed job's
 * payload, an error body) and what a control plane reads from a runner (an events batch, a completion, a heartbeat).
 * The types are inferred from them, so a shape and its check cannot drift apart. Where the reference control plane is
 * stricter than the protocol (caps on free text it stores), that is a variant built from the same entries. Every
 * check's message is the expected value in words ("a string", "a positive integer"), so that a failed
 * check reads `runtimeConfig.maxTurns must be a positive integer (got -1)`: the field, what was expected, what came.
 *
 * valibot rather than hand-written checks: one declaration gives the check, the inferred type and every problem at
 * once with its path; it is modular (only the functions used are bundled and loaded), which keeps start-up fast.
 */
import * as v from 'valibot';
import { BASE64_RULE, base64Length, isBase64 } from './base64.js';
import { isIsoTimestamp } from './iso-time.js';
import { findUnstorable, unstorableReason } from './storable-json.js';
import { COMPLETION_STATUSES, EVENT_KINDS, EXCLUDE_ADAPTER_TYPES_PARAM, MAX_EVENTS_PER_BATCH } from './types.js';
import { describeValue, isObject, type JsonObject } from './values.js';

// ---- Job ids ----

/** A job id goes into URL paths (`jobs/<id>/claim`) and spool file names: a UUID fits with room to spare. */
export const MAX_JOB_ID_LENGTH = 128;
/**
 * Only ASCII letters, digits, `-` and `_`: what is safe both as a URL path segment (no `/`, `.`, `..`, `%`, nothing for
 * encodeURIComponent to throw on) and as a file name on every platform (no separators, NUL, controls, reserved
 * characters; and the spool's file name is then the id itself, so two ids never share a spool file).
 */
const JOB_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_JOB_ID_LENGTH}}$`);
const JOB_ID_RULE = `1 to ${MAX_JOB_ID_LENGTH} ASCII letters, digits, "-" or "_" (it goes into URL paths and file names)`;

export const JobIdSchema = v.pipe(v.string(JOB_ID_RULE), v.regex(JOB_ID_PATTERN, JOB_ID_RULE));

/** Why `value` cannot be a job id, or undefined when it can. */
export function jobIdProblem(value: unknown): string | undefined {
  return v.is(JobIdSchema, value) ? undefined : `a job id must be ${JOB_ID_RULE} (got ${describeValue(value)})`;
}

// ---- Request ids and error codes: shown in logs, so printable and short ----

const REQUEST_ID_RULE = 'printable ASCII without spaces, at most 128 characters';
export const RequestIdSchema = v.pipe(v.string(REQUEST_ID_RULE), v.regex(/^[\x21-\x7e]{1,128}$/, REQUEST_ID_RULE));
const ERROR_CODE_RULE = 'a snake_case error code';
const ErrorCodeSchema = v.pipe(v.string(ERROR_CODE_RULE), v.regex(/^[a-z][a-z0-9_]{0,63}$/, ERROR_CODE_RULE));

// ---- Limits of the reference control plane ----

const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;

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
  /** The instructions file as the wire carries it: the base64 of a document. */
  instructions: base64Length(1024 * 1024),
} as const;
/** A job runs an hour at most; a year of elapsed time is already a bug, 1e308 seconds is garbage. */
const MAX_ELAPSED_SEC = 365 * 24 * 3600;
/** US$1,000,000 for one job: no agent run costs that; the bound keeps a corrupt figure out of the totals. */
const MAX_COST_MICROS = 1_000_000 * 1_000_000;

// ---- Shapes ----

/**
 * An object schema whose message for a missing field is that field's own ("prompt must be a string (got nothing)").
 * An array is not an object here, as it is not in JSON (valibot's object() alone would take `[]`).
 */
function objectOf<const E extends v.ObjectEntries>(entries: E, expected: string) {
  return v.pipe(
    v.custom<JsonObject>(isObject, expected),
    v.object(entries, (issue) => missingFieldMessage(entries, issue) ?? expected),
  );
}

function missingFieldMessage(entries: v.ObjectEntries, issue: v.BaseIssue<unknown>): string | undefined {
  const key = issue.path?.at(-1)?.key;
  const message =
    typeof key === 'string' && issue.input === undefined ? (entries[key] as { message?: unknown } | undefined)?.message : undefined;
  return typeof message === 'string' ? message : undefined;
}

/** Text a store keeps: at most `max` characters (the message then shows the length), with nothing it cannot store. */
function text(max: number) {
  return v.pipe(v.string(A_STRING), v.maxLength(max, `a string of at most ${max} characters; shorten it`), storable());
}

/** A value a jsonb store can hold (see storable-json.ts): the message says where it cannot and what to send instead. */
function storable<T>() {
  return v.check<T, (issue: v.CheckIssue<T>) => string>(
    (value) => findUnstorable(value) === undefined,
    (issue) => storableRule(issue.input),
  );
}

/** What a value a store refused must be: only called once it was refused. */
function storableRule(value: unknown): string {
  return `storable in a database, but ${unstorableReason(value)}`;
}

/** Absent or null, read as absent: older servers send null for "not set". */
function absentOrNull<const S extends v.GenericSchema>(schema: S) {
  return v.optional(
    v.pipe(
      v.nullable(schema),
      v.transform((value) => value ?? undefined),
    ),
  );
}

const A_STRING = 'a string';
const WHOLE_SECONDS = 'a positive whole number of seconds';
const POSITIVE_INTEGER = 'a positive integer';
const POSITIVE_SECONDS = 'a positive number of seconds';
const DIRECTORY_PATHS = 'an array of directory paths';

/** A field that only informs the runner's log: kept when it is a string, dropped when it is anything else, never refused. */
const informational = v.fallback(v.optional(v.string()), undefined);

/**
 * `GET jobs/next` → 200: a queued job. The runner claims on `jobId` alone; a job is never refused for another field.
 * While a CLI is paused by a usage limit, `adapterType` (or an `agentId` whose jobs it has claimed before) may leave
 * a job of that CLI in the queue, unclaimed, and `createdAt` tell whether it would outlive the pause there.
 */
export const JobDescriptorSchema = objectOf(
  {
    jobId: JobIdSchema,
    agentId: informational,
    agentName: informational,
    createdAt: informational,
    // Part 2 (docs/usage-limits.md): which CLI the job needs, so that a runner can leave a job of a paused CLI queued.
    adapterType: informational,
  },
  'a JSON object {jobId, …}',
);

/**
 * The runtimeConfig keys the runner reads. The runner keeps any other key, for the adapters that read their own
 * (`command`, `skipGitRepoCheck`, …).
 */
const runtimeConfigEntries = {
  model: v.nullish(v.string(A_STRING)),
  maxTurns: v.nullish(
    v.pipe(
      v.number(POSITIVE_INTEGER),
      v.integer(POSITIVE_INTEGER),
      v.minValue(1, POSITIVE_INTEGER),
      v.maxValue(INT32_MAX, POSITIVE_INTEGER),
    ),
  ),
  timeoutSec: v.nullish(v.pipe(v.number(POSITIVE_SECONDS), v.finite(POSITIVE_SECONDS), v.gtValue(0, POSITIVE_SECONDS))),
  instructionsFileContent: v.nullish(v.string(A_STRING)),
};

/** How to run the job, as the runner reads it. */
export const RuntimeConfigSchema = v.pipe(v.custom<JsonObject>(isObject, 'an object'), v.looseObject(runtimeConfigEntries));

/**
 * How to run the job, as the reference control plane takes it into a job: the runner's reading, with its free text
 * capped and storable, whole seconds, and the instructions in base64 as the protocol carries them (a job it stores is
 * always one the runner accepts). It checks the job's top-level shortcuts (`model`, `maxTurns`, …) with the same entries.
 */
export const storedRuntimeConfigEntries = {
  ...runtimeConfigEntries,
  model: v.nullish(text(TEXT_LIMITS.short)),
  timeoutSec: v.nullish(
    v.pipe(v.number(WHOLE_SECONDS), v.integer(WHOLE_SECONDS), v.minValue(1, WHOLE_SECONDS), v.maxValue(INT32_MAX, WHOLE_SECONDS)),
  ),
  instructionsFileContent: v.nullish(v.pipe(text(TEXT_LIMITS.instructions), v.check(isBase64, BASE64_RULE))),
};
export const StoredRuntimeConfigSchema = v.pipe(
  v.custom<JsonObject>(isObject, 'an object'),
  v.looseObject(storedRuntimeConfigEntries),
  storable(),
);

/** `POST jobs/:id/claim` → 200: everything needed to run the job. Only `jobId` and `prompt` are required. */
export const JobPayloadSchema = objectOf(
  {
    jobId: JobIdSchema,
    agentId: v.optional(v.string(A_STRING), ''),
    agentName: absentOrNull(v.string(A_STRING)),
    prompt: v.string(A_STRING),
    sessionId: v.nullish(v.string('a string or null'), null),
    promptHash: v.optional(v.string(A_STRING), ''),
    runtimeConfig: v.nullish(RuntimeConfigSchema, () => ({})),
    /** Absent means claude_local; any string may name an adapter of a newer runner. */
    adapterType: absentOrNull(v.string(A_STRING)),
    addDirs: absentOrNull(v.array(v.pipe(v.string(DIRECTORY_PATHS), v.minLength(1, DIRECTORY_PATHS)), DIRECTORY_PATHS)),
  },
  'a JSON object {jobId, prompt, runtimeConfig, …}',
);

/** An error answer's body. Every field is read on its own (see readErrorBody), so a half-broken body still yields its requestId. */
export const ErrorBodySchema = v.looseObject(
  {
    error: ErrorCodeSchema,
    message: v.optional(v.string(A_STRING)),
    requestId: v.optional(RequestIdSchema),
    expiredAt: v.optional(v.string(A_STRING)),
  },
  'a JSON object {error, requestId, …}',
);

// ---- What a runner sends ----

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

const UUID_RULE = 'a UUID (e.g. from crypto.randomUUID())';
const ISO_RULE = 'a real ISO-8601 time with an offset, like new Date().toISOString()';
const SEQ_RULE = "a non-negative integer (the line's position, from 0)";
const EXIT_CODE_RULE = `an integer from ${INT32_MIN} to ${INT32_MAX} (the agent's exit code)`;
const ELAPSED_RULE = `a number of seconds from 0 to ${MAX_ELAPSED_SEC} (a year)`;
const COST_RULE = `an integer from 0 to ${MAX_COST_MICROS} (US dollars x 1,000,000, e.g. 0.0412 -> 41200)`;

/**
 * One event; its eventId comes out lower-case, so a retry that changed only the case is still the same event. The server
 * checks every event of every batch: each field is one check where one does (fewer steps, same message).
 */
const RunnerEventSchema = objectOf(
  {
    eventId: v.pipe(v.custom<string>(isUuid, UUID_RULE), v.toLowerCase()),
    kind: v.picklist(EVENT_KINDS, `one of ${EVENT_KINDS.join(', ')}`),
    ts: v.custom<string>(isIsoTimestamp, ISO_RULE),
    payload: v.optional(v.custom<JsonObject | string>(isStorablePayload, (issue) => payloadRule(issue.input))),
    seq: v.optional(v.custom<number>((value) => isInt32(value) && value >= 0, SEQ_RULE)),
  },
  'an object {eventId, kind, ts, payload?, seq?}',
);

function isStorablePayload(value: unknown): value is JsonObject | string {
  return (typeof value === 'string' || isObject(value)) && findUnstorable(value) === undefined;
}

function payloadRule(value: unknown): string {
  return typeof value === 'string' || isObject(value) ? storableRule(value) : 'a JSON object or a string';
}

function isInt32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX;
}

const BATCH_RULE = `an array of 1 to ${MAX_EVENTS_PER_BATCH} events`;

/**
 * `POST jobs/:id/events`. The count is checked before any event, so a body of 100,000 events costs a length check, not
 * 100,000 event checks (and the array is taken as it is, not copied, until its events are read).
 */
export const EventsBatchSchema = objectOf(
  {
    events: v.pipe(
      v.custom<unknown[]>(Array.isArray, BATCH_RULE),
      v.minLength(1, `${BATCH_RULE}; do not send empty batches`),
      v.maxLength(MAX_EVENTS_PER_BATCH, `${BATCH_RULE}; split it into smaller batches`),
      v.array(RunnerEventSchema),
    ),
  },
  `a JSON object {"events": [...]} with 1 to ${MAX_EVENTS_PER_BATCH} events`,
);

/** `POST jobs/:id/complete`. Null means "not known" for the fields an agent may not report. */
export const CompletionSchema = objectOf(
  {
    status: v.picklist(COMPLETION_STATUSES, `one of ${COMPLETION_STATUSES.join(', ')}`),
    exitCode: v.custom<number>(isInt32, EXIT_CODE_RULE),
    signal: v.nullish(text(TEXT_LIMITS.short)),
    elapsedSec: absentOrNull(v.pipe(v.number(ELAPSED_RULE), v.minValue(0, ELAPSED_RULE), v.maxValue(MAX_ELAPSED_SEC, ELAPSED_RULE))),
    costMicros: absentOrNull(
      v.pipe(v.number(COST_RULE), v.integer(COST_RULE), v.minValue(0, COST_RULE), v.maxValue(MAX_COST_MICROS, COST_RULE)),
    ),
    sessionId: v.nullish(text(TEXT_LIMITS.sessionId)),
    cliVersion: absentOrNull(text(TEXT_LIMITS.short)),
    errorMessage: v.nullish(text(TEXT_LIMITS.errorMessage)),
    // Part 2: the job failed on a usage limit, which resets at `resetsAt` (null: the CLI did not say).
    usageLimit: v.optional(
      objectOf(
        { resetsAt: v.nullable(v.custom<string>(isIsoTimestamp, `${ISO_RULE}, or null when the CLI gave no reset time`)) },
        'a JSON object {resetsAt}',
      ),
    ),
  },
  'a JSON object {status, exitCode, …}',
);

/** The most adapter types a long-poll may name as not taken now (every type there is, many times over). */
export const MAX_EXCLUDED_ADAPTER_TYPES = 32;
const ADAPTER_TYPE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The adapter types a long-poll's `excludeAdapterTypes` names (Part 2: the runner is not taking jobs of these now),
 * read from the parameter's text (`claude_local,byo_runner`); empty when there is no parameter or it names none.
 */
export function readExcludedAdapterTypes(text: string | null): Checked<string[]> {
  const types = (text ?? '').split(',').filter(Boolean);
  const odd = types.find((type) => !ADAPTER_TYPE_PATTERN.test(type));
  if (odd !== undefined)
    return {
      ok: false,
      problems: [
        `${EXCLUDE_ADAPTER_TYPES_PARAM} must name adapter types (1 to 64 of A-Z a-z 0-9 _ . -), comma-separated (got ${describeValue(odd)})`,
      ],
    };
  if (types.length > MAX_EXCLUDED_ADAPTER_TYPES)
    return {
      ok: false,
      problems: [`${EXCLUDE_ADAPTER_TYPES_PARAM} must name at most ${MAX_EXCLUDED_ADAPTER_TYPES} adapter types (got ${types.length})`],
    };
  return { ok: true, value: [...new Set(types)] };
}

/** `POST jobs/:id/heartbeat` (Part 2): the call is the message, so no body, or an empty object. */
export const HeartbeatSchema = v.optional(
  v.custom<Record<string, never>>((value) => isObject(value) && Object.keys(value).length === 0, 'empty: no body, or {}'),
);

export type JobDescriptor = v.InferOutput<typeof JobDescriptorSchema>;
export type RuntimeConfig = v.InferOutput<typeof RuntimeConfigSchema>;
export type JobPayload = v.InferOutput<typeof JobPayloadSchema>;
export type ErrorBody = v.InferOutput<typeof ErrorBodySchema>;
export type RunnerEvent = v.InferOutput<typeof RunnerEventSchema>;
export type CompletionBody = v.InferOutput<typeof CompletionSchema>;

// ---- Reading ----

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * `value` checked against `schema`: the value it stands for, or every problem, each naming its field (`root` names the
 * value itself: "the answer" a runner read, "the body" a server read).
 */
export function check<const S extends v.GenericSchema>(schema: S, value: unknown, root = 'the answer'): Checked<v.InferOutput<S>> {
  const result = v.safeParse(schema, value);
  return result.success
    ? { ok: true, value: result.output }
    : { ok: false, problems: result.issues.map((issue) => problemText(issue, root)) };
}

/** A claim's answer, checked, and for the job that was claimed: a payload of another job is refused. */
export function checkJobPayload(value: unknown, claimedJobId: string): Checked<JobPayload> {
  const checked = check(JobPayloadSchema, value);
  const otherJob = isObject(value) && typeof value.jobId === 'string' && value.jobId !== claimedJobId;
  if (!otherJob) return checked;
  const problem = `jobId must be the claimed job's id ${claimedJobId} (got ${describeValue(value.jobId)})`;
  return { ok: false, problems: [problem, ...(checked.ok ? [] : checked.problems.filter((text) => !text.startsWith('jobId ')))] };
}

/** The fields of an error body that are what they should be; the others are left out. */
export function readErrorBody(value: unknown): Partial<ErrorBody> {
  if (!isObject(value)) return {};
  const body: Partial<ErrorBody> = {};
  for (const [key, schema] of Object.entries(ErrorBodySchema.entries)) {
    if (v.is(schema, value[key]) && value[key] !== undefined) (body as Record<string, unknown>)[key] = value[key];
  }
  return body;
}

/** `runtimeConfig.maxTurns must be a positive integer (got -1)`; `<root> must be …` for the value itself. */
function problemText(issue: v.BaseIssue<unknown>, root: string): string {
  const path = (issue.path ?? [])
    .map(({ key }, index) => (typeof key === 'number' ? `[${key}]` : `${index ? '.' : ''}${String(key)}`))
    .join('');
  return `${path || root} must be ${issue.message} (got ${inputOf(issue)})`;
}

/** What came: the value, or for one too long its length, since a 64 KiB string shown cut to 60 characters says less. */
function inputOf({ type, input }: v.BaseIssue<unknown>): string {
  if (type !== 'max_length') return describeValue(input);
  return typeof input === 'string' ? `${input.length} characters` : `${(input as unknown[]).length} items`;
}
