/**
 * The wire shapes the runner reads from a control plane, one valibot schema each; the types in types.ts are inferred
 * from them, so a shape and its check cannot drift apart. The control plane can check what it sends against the same
 * schemas. Every check's message is the expected value in words ("a string", "a positive integer"), so that a failed
 * check reads `runtimeConfig.maxTurns must be a positive integer (got -1)`: the field, what was expected, what came.
 *
 * valibot rather than hand-written checks: one declaration gives the check, the inferred type and every problem at
 * once with its path; it is modular (only the functions used are bundled and loaded), which keeps start-up fast.
 */
import * as v from 'valibot';
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
  const message = typeof key === 'string' && issue.input === undefined ? (entries[key] as { message?: unknown } | undefined)?.message : undefined;
  return typeof message === 'string' ? message : undefined;
}

/** Absent or null, read as absent: older servers send null for "not set". */
function absentOrNull<const S extends v.GenericSchema>(schema: S) {
  return v.optional(v.pipe(v.nullable(schema), v.transform((value) => value ?? undefined)));
}

const A_STRING = 'a string';
const POSITIVE_INTEGER = 'a positive integer';
const POSITIVE_SECONDS = 'a positive number of seconds';
const DIRECTORY_PATHS = 'an array of directory paths';

/** `GET jobs/next` → 200: a queued job. */
export const JobDescriptorSchema = objectOf(
  {
    jobId: JobIdSchema,
    agentId: v.string(A_STRING),
    agentName: v.string(A_STRING),
    createdAt: v.string(A_STRING),
  },
  'a JSON object {jobId, agentId, agentName, createdAt}',
);

/** How to run the job; unknown keys are kept, for the adapters that read their own (`command`, `skipGitRepoCheck`, …). */
export const RuntimeConfigSchema = v.pipe(
  v.custom<JsonObject>(isObject, 'an object'),
  v.looseObject({
    model: v.nullish(v.string(A_STRING)),
    maxTurns: v.nullish(v.pipe(v.number(POSITIVE_INTEGER), v.integer(POSITIVE_INTEGER), v.minValue(1, POSITIVE_INTEGER))),
    timeoutSec: v.nullish(v.pipe(v.number(POSITIVE_SECONDS), v.finite(POSITIVE_SECONDS), v.gtValue(0, POSITIVE_SECONDS))),
    instructionsFileContent: v.nullish(v.string(A_STRING)),
  }),
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

export type JobDescriptor = v.InferOutput<typeof JobDescriptorSchema>;
export type RuntimeConfig = v.InferOutput<typeof RuntimeConfigSchema>;
export type JobPayload = v.InferOutput<typeof JobPayloadSchema>;
export type ErrorBody = v.InferOutput<typeof ErrorBodySchema>;

// ---- Reading ----

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** `value` checked against `schema`: the value it stands for, or every problem, each naming its field. */
export function check<const S extends v.GenericSchema>(schema: S, value: unknown): Checked<v.InferOutput<S>> {
  const result = v.safeParse(schema, value);
  return result.success ? { ok: true, value: result.output } : { ok: false, problems: result.issues.map(problemText) };
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

/** `runtimeConfig.maxTurns must be a positive integer (got -1)`; `the answer must be …` for the value itself. */
function problemText(issue: v.BaseIssue<unknown>): string {
  const path = (issue.path ?? []).map(({ key }, index) => (typeof key === 'number' ? `[${key}]` : `${index ? '.' : ''}${String(key)}`)).join('');
  return `${path || 'the answer'} must be ${issue.message} (got ${describeValue(issue.input)})`;
}
