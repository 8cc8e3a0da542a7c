/**
 * Jobs played over the runner protocol for the dashboard's browser tests, as a runner would: claimed, their events
 * posted (stamped some ms after a start), completed when told how. What a test then sees is what a runner sent.
 */
import { randomUUID } from 'node:crypto';
import type { ControlPlane } from '../../src/control-plane/index.js';
import type { RunnerEvent } from '../../src/protocol/types.js';
import { RunnerHttp } from '../control-plane/helpers.js';

export interface Played {
  jobId: string;
  events: RunnerEvent[];
  runner: RunnerHttp;
}

/** [kind, payload, ms after the start] as scripts/sample-transcript.mjs gives them. */
export type Script = Array<[string, unknown, number]>;

export async function play(
  plane: ControlPlane,
  companyId: string,
  script: Script,
  options: { agentName?: string; startMs?: number; complete?: Record<string, unknown>; token?: string } = {},
): Promise<Played> {
  const token = options.token ?? (await plane.admin.createToken({ companyId, name: 'played' })).token;
  const runner = new RunnerHttp(plane.url, token);
  const job = await plane.admin.enqueueJob({ companyId, agentName: options.agentName ?? 'Bug fixer', prompt: 'Fix the parser.' });
  expect200((await runner.claim(job.jobId)).status, 'claim');
  const events = await post(runner, job.jobId, script, options.startMs ?? Date.now());
  if (options.complete) expect200((await runner.complete(job.jobId, options.complete)).status, 'complete');
  return { jobId: job.jobId, events, runner };
}

/** Posts more events of a played job, in batches of at most 256 (the protocol's limit). */
export async function post(runner: RunnerHttp, jobId: string, script: Script, startMs = Date.now(), firstSeq = 0): Promise<RunnerEvent[]> {
  const events = script.map(([kind, payload, at], i) => ({
    eventId: randomUUID(),
    seq: firstSeq + i,
    kind,
    ts: new Date(startMs + at).toISOString(),
    payload,
  })) as RunnerEvent[];
  for (let i = 0; i < events.length; i += 256) expect200((await runner.events(jobId, events.slice(i, i + 256))).status, 'events');
  return events;
}

function expect200(status: number, what: string): void {
  if (status !== 200 && status !== 204) throw new Error(`${what} answered ${status}`);
}
