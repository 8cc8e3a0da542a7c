import type { JobPayload } from '../protocol/types.js';

export type PayloadCheck = { ok: true; payload: JobPayload } | { ok: false; problems: string[] };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const optional = (value: unknown, check: (v: unknown) => boolean) => value === undefined || value === null || check(value);
const isString = (value: unknown) => typeof value === 'string';
const isPositiveInteger = (value: unknown) => Number.isInteger(value) && (value as number) > 0;
const isPositiveNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0;

/**
 * Checks a claimed job's payload before anything runs: a malformed payload fails the job with a message
 * that names each bad field, instead of crashing the runner or starting an agent with garbage.
 */
export function checkPayload(raw: unknown, jobId: string): PayloadCheck {
  if (!isObject(raw)) return { ok: false, problems: [`the claim answered ${describe(raw)} instead of a job object`] };
  const problems: string[] = [];
  const expect = (ok: boolean, field: string, wanted: string) => {
    if (!ok) problems.push(`${field} must be ${wanted} (got ${describe(fieldValue(raw, field))})`);
  };
  expect(raw.jobId === jobId, 'jobId', `the claimed job's id ${jobId}`);
  expect(isString(raw.prompt), 'prompt', 'a string');
  expect(optional(raw.sessionId, isString), 'sessionId', 'a string or null');
  expect(optional(raw.adapterType, isString), 'adapterType', 'a string');
  expect(optional(raw.addDirs, (dirs) => Array.isArray(dirs) && dirs.every((dir) => typeof dir === 'string' && dir.length > 0)), 'addDirs', 'an array of directory paths');
  expect(optional(raw.runtimeConfig, isObject), 'runtimeConfig', 'an object');
  const config = isObject(raw.runtimeConfig) ? raw.runtimeConfig : {};
  expect(optional(config.model, isString), 'runtimeConfig.model', 'a string');
  expect(optional(config.maxTurns, isPositiveInteger), 'runtimeConfig.maxTurns', 'a positive integer');
  expect(optional(config.timeoutSec, isPositiveNumber), 'runtimeConfig.timeoutSec', 'a positive number of seconds');
  expect(optional(config.instructionsFileContent, isString), 'runtimeConfig.instructionsFileContent', 'a string');
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    payload: {
      ...(raw as unknown as JobPayload),
      agentId: isString(raw.agentId) ? (raw.agentId as string) : '',
      sessionId: (raw.sessionId as string | null | undefined) ?? null,
      runtimeConfig: config,
    },
  };
}

function fieldValue(raw: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), raw);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
