import { readFileSync } from 'node:fs';
import type { AgentAdapter, RunReport } from '../../src/agents/index.js';
import type { JobPayload } from '../../src/protocol/types.js';

type Json = Record<string, unknown>;

/** A claimed job with the fields an adapter reads. */
export const job = (overrides: Partial<JobPayload> = {}): JobPayload => ({
  jobId: 'j1',
  agentId: 'a1',
  prompt: 'fix the bug',
  sessionId: null,
  promptHash: '',
  runtimeConfig: {},
  ...overrides,
});

/** The JSON lines of `test/fixtures/<cli>/<name>.jsonl`. */
export const fixtures =
  (cli: string) =>
  (name: string): Json[] =>
    readFileSync(new URL(`../fixtures/${cli}/${name}.jsonl`, import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Json);

/** The report the runner would fold from these lines. */
export const reportOf = (adapter: AgentAdapter, messages: Json[]): RunReport =>
  messages.reduce<RunReport>((report, message) => adapter.report(report, message), {});

export const kindsOf = (adapter: AgentAdapter, messages: Json[]) => messages.map((message) => adapter.kindOf(message));

/**
 * The message the job fails with when the adapter refuses one of its fields for argv, or undefined when it launched.
 * Every hostile value here is what a compromised control plane would send to turn an agent's permission checks off.
 */
export const refusalOf = (adapter: AgentAdapter, overrides: Partial<JobPayload>): string | undefined => {
  try {
    adapter.launch(job(overrides), {});
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

/** What a refusal says: the field, its value, and why. */
export const refusedField = (field: string, value: string) =>
  new RegExp(
    `^${field.replace(/[[\].]/g, '\\$&')} ${JSON.stringify(value)} starts with "-" and would be read as a flag by the agent CLI, so the agent was not started; correct ${field.replace(/[[\].]/g, '\\$&')} in the job`,
  );
