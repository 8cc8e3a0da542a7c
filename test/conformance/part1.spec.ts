/**
 * Part 1 of the runner protocol (docs/protocol.md, "the fixed protocol"), as @founderos/runner 0.1.1 speaks it, against
 * the reference control plane on PGlite and, when FOUNDEROS_TEST_DATABASE_URL is set, on PostgreSQL. The client
 * below is written from the protocol text alone: plain fetch, long-poll, claim, events without `seq`, complete, and
 * never a heartbeat. Only the admin API (not part of the protocol) is used to queue, cancel, revoke and read back.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES, type ControlPlane } from '../../src/control-plane/index.js';
import { TEST_DATABASE_URL, company, pgliteBackend, postgresBackend, sleep, startPlane, type Backend } from '../control-plane/helpers.js';

/** What every answer of the server must carry, and an error answer must repeat in its body. */
interface Answer {
  status: number;
  body: any;
  requestId: string | null;
}

/** A Part-1 runner: `authorization: Bearer fos_…`, a user-agent, JSON bodies. Nothing else. */
class Part1Client {
  constructor(
    private readonly serverUrl: string,
    private readonly token: string,
  ) {}

  async send(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    const res = await fetch(`${this.serverUrl}/api/runner${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'user-agent': '@founderos/runner/0.1.1', 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), requestId: res.headers.get('x-request-id') };
  }

  next() {
    return this.send('GET', '/jobs/next');
  }
  claim(jobId: string) {
    return this.send('POST', `/jobs/${jobId}/claim`);
  }
  events(jobId: string, events: unknown[]) {
    return this.send('POST', `/jobs/${jobId}/events`, JSON.stringify({ events }));
  }
  complete(jobId: string, body: Record<string, unknown>) {
    return this.send('POST', `/jobs/${jobId}/complete`, JSON.stringify(body));
  }
}

/** `RunnerEvent = { eventId, kind, ts, payload? }`: no `seq`, as Part 1 has none. */
function line(payload: unknown, kind = 'stdout_line') {
  return { eventId: randomUUID(), kind, ts: new Date().toISOString(), payload };
}

/** The kinds docs/protocol.md lists, in its order: the original claude ones and the provider-neutral ones. */
const PROTOCOL_KINDS = [
  'stdout_line',
  'stderr_line',
  'claude_message',
  'claude_tool_use',
  'claude_tool_result',
  'claude_result',
  'model_message',
  'tool_call',
  'tool_result',
  'run_complete',
];

const LEASE_MS = 300;
const LONG_POLL_MS = 1000;

function expectError(answer: Answer, status: number, error: string) {
  expect({ status: answer.status, error: answer.body?.error }).toEqual({ status, error });
  expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(answer.body.requestId).toBe(answer.requestId);
}

function part1Suite(makeBackend: () => Promise<Backend>) {
  let backend: Backend;
  let plane: ControlPlane;

  beforeAll(async () => {
    // A fresh database: arrival numbers start at 1, so the first jobs below cross 9→10, 99→100 and 999→1000.
    backend = await makeBackend();
    plane = await startPlane(backend, { leaseMs: LEASE_MS, longPollMs: LONG_POLL_MS });
  });
  afterAll(async () => {
    await plane?.close();
    await backend?.dispose();
  });

  /** A company with a Part-1 runner that has long-polled, been offered a job and claimed it. */
  async function claimedJob(prompt = 'do it') {
    const companyId = company('part1');
    const { token, info } = await plane.admin.createToken({ companyId });
    const runner = new Part1Client(plane.url, token);
    const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt });
    const offered = await runner.next();
    expect(offered.status).toBe(200);
    expect(offered.body.jobId).toBe(job.jobId);
    const claim = await runner.claim(job.jobId);
    expect(claim.status).toBe(200);
    return { runner, job, tokenId: info.tokenId, claim };
  }

  async function readBack(jobId: string) {
    const page = await plane.admin.listEvents(jobId, { limit: 5000 });
    return { payloads: page.events.map((e) => e.payload), kinds: page.events.map((e) => e.kind), cursor: BigInt(page.nextCursor) };
  }

  it('should read a 10-line job back in order (init, 10 lines, result)', async () => {
    const { runner, job } = await claimedJob();
    const sent = [{ type: 'system', subtype: 'init' }, ...Array.from({ length: 10 }, (_, n) => `line ${n + 1}`), { type: 'result' }];
    for (const payload of sent) {
      const kind = typeof payload === 'string' ? 'stdout_line' : payload.type === 'result' ? 'claude_result' : 'claude_message';
      expect((await runner.events(job.jobId, [line(payload, kind)])).status).toBe(204);
    }
    const { payloads, cursor } = await readBack(job.jobId);
    // First in a fresh database: its 12 arrival numbers end between 10 and 20, so they cross 9→10.
    expect(cursor >= 10n && cursor <= 20n).toBe(true);
    expect(payloads).toEqual(sent);
  });

  it('should read events back in the order they were sent across 9→10, 99→100 and 999→1000, for a job of 1,200', async () => {
    const { runner, job } = await claimedJob();
    const lines = Array.from({ length: 1200 }, (_, n) => `line ${n + 1}`);
    // One line per batch first (a trickling agent), then the runner's live batches of up to 32.
    for (const text of lines.slice(0, 12)) expect((await runner.events(job.jobId, [line(text)])).status).toBe(204);
    for (let at = 12; at < lines.length; at += 32) {
      expect(
        (
          await runner.events(
            job.jobId,
            lines.slice(at, at + 32).map((text) => line(text)),
          )
        ).status,
      ).toBe(204);
    }
    expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);

    const { payloads, cursor } = await readBack(job.jobId);
    // Its 1,200 arrival numbers end between 1,000 and 1,298: they start below 100 and cross 99→100 and 999→1000.
    expect(cursor >= 1000n && cursor <= 1298n).toBe(true);
    expect(payloads).toEqual(lines);
    // A follower paging with the cursor sees the same order.
    const followed: unknown[] = [];
    for (let after = '0'; ; ) {
      const page = await plane.admin.listEvents(job.jobId, { after, limit: 97 });
      if (page.events.length === 0) break;
      followed.push(...page.events.map((e) => e.payload));
      after = page.nextCursor;
    }
    expect(followed).toEqual(lines);
  });

  it('should store a 6.5 MB batch (32 lines of 200 KB) and one just under 10 MB, and refuse one just over with 413', async () => {
    const { runner, job } = await claimedJob();
    const big = Array.from({ length: 32 }, (_, n) => line(`${n}:`.padEnd(200 * 1024, 'x')));
    const body = JSON.stringify({ events: big });
    expect(body.length).toBeGreaterThan(6_500_000);
    expect((await runner.send('POST', `/jobs/${job.jobId}/events`, body)).status).toBe(204);

    /** An events body of exactly `bytes` bytes. */
    const bodyOf = (bytes: number) => {
      const shell = JSON.stringify({ events: [line('')] });
      return shell.replace('"payload":""', `"payload":"${'y'.repeat(bytes - shell.length)}"`);
    };
    expect(Buffer.byteLength(bodyOf(10_000_000))).toBe(10_000_000);
    expect((await runner.send('POST', `/jobs/${job.jobId}/events`, bodyOf(10_000_000))).status).toBe(204);
    expect((await runner.send('POST', `/jobs/${job.jobId}/events`, bodyOf(DEFAULT_MAX_BODY_BYTES))).status).toBe(204);
    const over = await runner.send('POST', `/jobs/${job.jobId}/events`, bodyOf(DEFAULT_MAX_BODY_BYTES + 1));
    expectError(over, 413, 'payload_too_large');

    expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    const detail = await plane.admin.getJob(job.jobId);
    expect(detail.eventCount).toBe(34);
    expect(detail.status).toBe('completed');
  });

  it('should let an agent be silent for twice the lease and still complete (a Part-1 runner never heartbeats)', async () => {
    const { runner, job } = await claimedJob();
    await sleep(2 * LEASE_MS);
    expect((await runner.events(job.jobId, [line('thought for a while')])).status).toBe(204);
    await sleep(2 * LEASE_MS);
    expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0, elapsedSec: 1.2, costMicros: 41200 })).status).toBe(204);
    expect(await plane.admin.getJob(job.jobId)).toMatchObject({ status: 'completed', errorMessage: null, costMicros: 41200 });
  });

  it('should answer 409 to the next batch of a job cancelled from the dashboard, and 409 to its completion', async () => {
    const { runner, job } = await claimedJob();
    expect((await runner.events(job.jobId, [line('working')])).status).toBe(204);
    await plane.admin.cancelJob(job.jobId);
    expectError(await runner.events(job.jobId, [line('still working')]), 409, 'job_terminal');
    expectError(await runner.complete(job.jobId, { status: 'cancelled', exitCode: 143, signal: 'SIGTERM' }), 409, 'job_already_terminal');
    expect((await readBack(job.jobId)).payloads).toEqual(['working']);
  });

  it('should answer 401 to the next request of a revoked token', async () => {
    const { runner, job, tokenId } = await claimedJob();
    await plane.admin.revokeToken(tokenId);
    expectError(await runner.events(job.jobId, [line('after revocation')]), 401, 'invalid_runner_token');
    expectError(await runner.next(), 401, 'invalid_runner_token');
    expect((await plane.admin.getJob(job.jobId)).eventCount).toBe(0);
  });

  it('should store the provider-neutral kinds beside the claude ones, and refuse any other kind with 400', async () => {
    const { runner, job } = await claimedJob();
    const sent = PROTOCOL_KINDS.map((kind) => line({ type: kind }, kind));
    expect((await runner.events(job.jobId, sent)).status).toBe(204);
    expect((await readBack(job.jobId)).kinds).toEqual(PROTOCOL_KINDS);
    expectError(await runner.events(job.jobId, [line('x', 'assistant_message')]), 400, 'invalid_request');
  });

  it('should hand out jobs as the protocol describes: 204 after the window, descriptor, claim payload, 409 and 404', async () => {
    const companyId = company('part1-flow');
    const { token } = await plane.admin.createToken({ companyId });
    const runner = new Part1Client(plane.url, token);
    const idle = await runner.next();
    expect(idle.status).toBe(204);
    expect(idle.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'hello' });
    const offered = await runner.next();
    // The Part-2 adapterType (docs/usage-limits.md) comes too: a field a Part-1 runner ignores.
    expect(offered.body).toEqual({
      jobId: job.jobId,
      agentId: job.agentId,
      agentName: 'Sarah',
      createdAt: job.createdAt,
      adapterType: 'claude_local',
    });
    expect(new Date(offered.body.createdAt).toISOString()).toBe(offered.body.createdAt);
    const claim = await runner.claim(job.jobId);
    expect(claim.status).toBe(200);
    expect(claim.body).toMatchObject({ jobId: job.jobId, agentId: job.agentId, prompt: 'hello', sessionId: null, runtimeConfig: {} });
    expect(claim.body.promptHash).toBe(createHash('sha256').update('hello').digest('hex'));
    expectError(await runner.claim(job.jobId), 409, 'job_not_claimable');
    expectError(await runner.claim(randomUUID()), 404, 'job_not_found');
  });

  it('should put x-request-id on every answer, and repeat it in every error body', async () => {
    const { runner, job } = await claimedJob();
    const answers: Answer[] = [
      await runner.events(job.jobId, [line('ok')]),
      await runner.send('GET', `/jobs/${job.jobId}/events`), // 405
      await runner.send('GET', '/no/such/route'), // 404
      await runner.send('POST', `/jobs/${job.jobId}/events`, '{"events": ['), // 400
      await new Part1Client(plane.url, `fos_${'0'.repeat(32)}`).next(), // 401
      await runner.complete(job.jobId, { status: 'completed', exitCode: 0 }), // 204
    ];
    expect(answers.map((a) => a.status)).toEqual([204, 405, 404, 400, 401, 204]);
    const ids = answers.map((a) => a.requestId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (const answer of answers.filter((a) => a.status >= 400)) {
      expect(answer.body.requestId).toBe(answer.requestId);
      expect(typeof answer.body.error).toBe('string');
    }
  });
}

describe('Part 1 conformance', () => {
  describe('on PGlite', () => part1Suite(pgliteBackend));
  describe.runIf(TEST_DATABASE_URL)('on PostgreSQL', () => part1Suite(() => postgresBackend(TEST_DATABASE_URL!)));
});
