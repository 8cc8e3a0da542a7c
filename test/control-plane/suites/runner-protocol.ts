/**
 * The runner protocol over real HTTP: claim race, long-poll, tokens, events, completion, cancel, validation; and the
 * usage-limit extension (docs/usage-limits.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES, type ControlPlane } from '../../../src/control-plane/index.js';
import { USAGE_LIMIT_REQUEUES } from '../../../src/control-plane/store/runner-jobs.js';
import { company, event, RunnerHttp, runnerFor, sleep, startPlane, type Backend, eventually } from '../helpers.js';

export function runnerProtocolSuite(makeBackend: () => Promise<Backend>) {
  describe('runner protocol', () => {
    let backend: Backend;
    let plane: ControlPlane;

    beforeAll(async () => {
      backend = await makeBackend();
      plane = await startPlane(backend, { longPollMs: 10_000, maxPollsPerToken: 4 });
    });
    afterAll(async () => {
      await plane?.close();
      await backend?.dispose();
    });

    /** A queued job, claimed by a fresh runner of a fresh company. */
    async function claimedJob(prompt = 'do it') {
      const companyId = company('co');
      const runner = await runnerFor(plane, companyId);
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt });
      expect((await runner.claim(job.jobId)).status).toBe(200);
      return { companyId, runner, job };
    }

    it('should claim every one of 200 jobs exactly once among 8 concurrent claimers', async () => {
      const companyId = company('race');
      const runners = await Promise.all(Array.from({ length: 8 }, () => runnerFor(plane, companyId)));
      const jobIds = new Set<string>();
      for (let i = 0; i < 200; i++) jobIds.add((await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: `job ${i}` })).jobId);

      const claimedBy = new Map<string, number>();
      const duplicates: string[] = [];
      const done = new AbortController();
      await Promise.all(
        runners.map(async (runner, who) => {
          while (!done.signal.aborted) {
            const next = await runner.next(done.signal).catch(() => undefined);
            if (next?.status !== 200) continue;
            const claim = await runner.claim(next.body.jobId);
            if (claim.status === 409) continue; // lost the race: poll again
            expect(claim.status).toBe(200);
            if (claimedBy.has(claim.body.jobId)) duplicates.push(claim.body.jobId);
            claimedBy.set(claim.body.jobId, who);
            if (claimedBy.size === jobIds.size) done.abort();
          }
        }),
      );

      expect(duplicates).toEqual([]);
      expect(new Set(claimedBy.keys())).toEqual(jobIds);
      const jobs = await plane.admin.listJobs({ companyId, limit: 1000 });
      expect(jobs.filter((j) => j.status === 'claimed')).toHaveLength(200);
      // The server agrees with the runners about who won each job.
      const tokens = await plane.admin.listTokens({ companyId });
      const tokenIdOf = new Map(tokens.map((t) => [t.preview, t.tokenId]));
      for (const job of jobs) {
        expect(job.claimedByTokenId).toBe(tokenIdOf.get(runners[claimedBy.get(job.jobId)!]!.token.slice(0, 8)));
      }
    });

    it('should answer a waiting long-poll as soon as a job is enqueued, and only to its own company', async () => {
      const companyId = company('wake');
      const runner = await runnerFor(plane, companyId);
      const stranger = await runnerFor(plane, company('other'));
      const strangerGiveUp = new AbortController();
      const strangerPoll = stranger.next(strangerGiveUp.signal).then(
        (res) => res.status,
        () => 'still waiting',
      );
      const poll = runner.next();
      await sleep(300); // both are now waiting in the server
      const enqueuedAt = Date.now();
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'wake up' });
      const res = await poll;
      const latency = Date.now() - enqueuedAt;

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        jobId: job.jobId,
        agentId: job.agentId,
        agentName: 'Sarah',
        createdAt: job.createdAt,
        adapterType: 'claude_local',
      });
      expect(latency).toBeLessThan(2000);
      await sleep(200);
      strangerGiveUp.abort();
      expect(await strangerPoll).toBe('still waiting');
    });

    it('should hold a poll for the wait it asks for (Prefer: wait), within its own limit, and say what it applied', async () => {
      const companyId = company('prefer');
      const runner = await runnerFor(plane, companyId);
      const next = (prefer?: string) => runner.raw('GET', '/api/runner/jobs/next', { headers: prefer ? { prefer } : {} });
      // Shorter than the server's 10 s window: answered 204 once the second is up.
      const askedAt = Date.now();
      const short = await next('wait=1');
      expect(short.status).toBe(204);
      expect(short.headers.get('preference-applied')).toBe('wait=1');
      expect(Date.now() - askedAt).toBeLessThan(5_000);
      // Past the server's limit (its 10 s window here: set below the protocol's 30 s, the limit follows it), the
      // limit is what it applies; and a job still comes at once.
      await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'one' });
      const capped = await next('respond-async, wait=99999');
      expect(capped.status).toBe(200);
      expect(capped.headers.get('preference-applied')).toBe('wait=10');
      // A poll that asks nothing (a Part-1 runner), or asks in a way that cannot be read, is told nothing.
      await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'two' });
      const plain = await next();
      expect(plain.status).toBe(200);
      expect(plain.headers.get('preference-applied')).toBeNull();
      await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'three' });
      const unreadable = await next('wait=soon');
      expect(unreadable.status).toBe(200);
      expect(unreadable.headers.get('preference-applied')).toBeNull();
    });

    it('should hand a queued job to exactly one of 20 waiting runners, and the next 19 to the others, one each', async () => {
      const companyId = company('fan-out');
      const runners = await Promise.all(Array.from({ length: 20 }, () => runnerFor(plane, companyId)));
      const answers: { status: number; jobId?: string }[] = [];
      const polls = runners.map((runner) => runner.next().then((res) => answers.push({ status: res.status, jobId: res.body?.jobId })));
      await sleep(300); // all wait in the server
      const first = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'first' });
      await eventually(async () => (answers.length > 0 ? true : undefined));
      await sleep(300);
      expect(answers).toEqual([{ status: 200, jobId: first.jobId }]);
      const rest = await Promise.all(
        Array.from({ length: 19 }, (_, i) => plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: `${i}` })),
      );
      await Promise.all(polls);
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      expect(new Set(answers.map((answer) => answer.jobId))).toEqual(new Set([first.jobId, ...rest.map((job) => job.jobId)]));
    });

    it("should answer 429 with Retry-After and the protocol's error body to a token past its cap of waiting polls", async () => {
      const companyId = company('cap');
      const runner = await runnerFor(plane, companyId);
      const giveUp = new AbortController();
      const waiting = Array.from({ length: 4 }, () => runner.next(giveUp.signal).catch(() => 'aborted'));
      await sleep(300);
      const refused = await runner.next();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(10);
      expect(refused.body).toMatchObject({ error: 'too_many_long_polls', requestId: refused.headers.get('x-request-id') });
      expect(refused.body.message).toContain('(4)');
      // Another token of the company still polls, and the capped one does once its polls end.
      expect((await (await runnerFor(plane, companyId)).next(AbortSignal.timeout(300)).catch(() => 'still waiting')) as unknown).toBe(
        'still waiting',
      );
      giveUp.abort();
      await Promise.all(waiting);
      await eventually(async () => {
        const res = await runner.next(AbortSignal.timeout(300)).catch(() => 'still waiting');
        return res === 'still waiting' ? res : undefined;
      });
    });

    it('should give the claim payload the protocol describes', async () => {
      const companyId = company('payload');
      const runner = await runnerFor(plane, companyId);
      const job = await plane.admin.enqueueJob({
        companyId,
        agentName: 'Sarah',
        prompt: 'write a haiku',
        adapterType: 'codex_local',
        model: 'o3',
        maxTurns: 5,
        timeoutSec: 60,
        sessionId: 'sess-1',
        addDirs: ['/tmp/a'],
        instructionsFileContent: Buffer.from('be brief').toString('base64'),
        runtimeConfig: { futureKey: true },
      });
      const res = await runner.claim(job.jobId);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        jobId: job.jobId,
        agentId: job.agentId,
        agentName: 'Sarah',
        prompt: 'write a haiku',
        sessionId: 'sess-1',
        promptHash: createHash('sha256').update('write a haiku').digest('hex'),
        runtimeConfig: {
          futureKey: true,
          model: 'o3',
          maxTurns: 5,
          timeoutSec: 60,
          instructionsFileContent: Buffer.from('be brief').toString('base64'),
        },
        adapterType: 'codex_local',
        addDirs: ['/tmp/a'],
      });
      // Absent adapter type stays absent: the runner reads that as claude_local.
      const plain = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
      const plainClaim = await runner.claim(plain.jobId);
      expect(plainClaim.body.adapterType).toBeUndefined();
      expect(plainClaim.body.sessionId).toBeNull();
      expect((await plane.admin.getJob(job.jobId)).status).toBe('claimed');
    });

    it('should answer 409 to a second claim and 404 to unknown, foreign and cancelled jobs', async () => {
      const { companyId, runner, job } = await claimedJob();
      const second = await runner.claim(job.jobId);
      expect(second.status).toBe(409);
      expect(second.body.error).toBe('job_not_claimable');

      expect((await runner.claim(randomUUID())).body.error).toBe('job_not_found');
      expect((await runner.claim('not-a-uuid')).status).toBe(404);
      const stranger = await runnerFor(plane, company('stranger'));
      const queued = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      expect((await stranger.claim(queued.jobId)).status).toBe(404);
      await plane.admin.cancelJob(queued.jobId);
      expect((await runner.claim(queued.jobId)).status).toBe(404);
    });

    it('should answer 401 alike to missing, malformed, unknown and revoked tokens', async () => {
      const companyId = company('auth');
      const { token, info } = await plane.admin.createToken({ companyId });
      const good = new RunnerHttp(plane.url, token);
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      expect((await good.next()).status).toBe(200);
      await plane.admin.revokeToken(info.tokenId);

      const attempts = [
        await good.next(),
        await good.claim(job.jobId),
        await new RunnerHttp(plane.url, 'fos_short').next(),
        await new RunnerHttp(plane.url, `fos_${'x'.repeat(32)}`).next(),
        await new RunnerHttp(plane.url, plane.adminKey).next(),
        await good.raw('GET', '/api/runner/jobs/next', { headers: { authorization: '' } }),
      ];
      for (const res of attempts) {
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_runner_token');
        expect(res.body.message).toBe(attempts[0]!.body.message);
        expect(res.body.message).not.toContain(token);
      }
      expect((await plane.admin.getJob(job.jobId)).status).toBe('queued');
    });

    it('should keep other companies out of a job', async () => {
      const { runner, job } = await claimedJob();
      const stranger = await runnerFor(plane, company('stranger'));
      expect((await stranger.events(job.jobId, [event()])).status).toBe(404);
      expect((await stranger.heartbeat(job.jobId)).status).toBe(404);
      expect((await stranger.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(404);
      expect((await runner.events(job.jobId, [event()])).status).toBe(204);
    });

    it('should answer 403 to another token of the same company', async () => {
      const { companyId, job } = await claimedJob();
      const colleague = await runnerFor(plane, companyId);
      const res = await colleague.events(job.jobId, [event()]);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('job_not_owned_by_token');
      expect((await colleague.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(403);
      expect((await colleague.heartbeat(job.jobId)).status).toBe(409);
      expect((await plane.admin.getJob(job.jobId)).eventCount).toBe(0);
    });

    it('should store a retried batch once and move the job to streaming', async () => {
      const { runner, job } = await claimedJob();
      const batch = [event({ seq: 0 }), event({ seq: 1, kind: 'stderr_line' }), event({ seq: 2, payload: { type: 'x', n: 1 } })];
      expect((await runner.events(job.jobId, batch)).status).toBe(204);
      expect((await plane.admin.getJob(job.jobId)).status).toBe('streaming');
      expect((await runner.events(job.jobId, batch)).status).toBe(204);
      expect((await runner.events(job.jobId, [batch[1]!, event({ seq: 3 })])).status).toBe(204);

      const detail = await plane.admin.getJob(job.jobId);
      expect(detail.eventCount).toBe(4);
      const page = await plane.admin.listEvents(job.jobId);
      expect(page.events.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
      expect(page.events[2]!.payload).toEqual({ type: 'x', n: 1 });
      expect(page.events[0]!.payload).toBe('a line');
    });

    it('should order events by seq, whatever order they arrive in', async () => {
      const { runner, job } = await claimedJob();
      const late = [3, 4, 5].map((seq) => event({ seq, payload: `line ${seq}` }));
      const early = [0, 1, 2].map((seq) => event({ seq, payload: `line ${seq}` }));
      await runner.events(job.jobId, late);
      await runner.events(job.jobId, early);
      const { events } = await plane.admin.listEvents(job.jobId);
      expect(events.map((e) => e.payload)).toEqual([0, 1, 2, 3, 4, 5].map((n) => `line ${n}`));
    });

    it('should keep arrival order for events without seq (the cloud protocol)', async () => {
      const { runner, job } = await claimedJob();
      for (const n of [1, 2, 3]) await runner.events(job.jobId, [event({ payload: `line ${n}` })]);
      const { events } = await plane.admin.listEvents(job.jobId);
      expect(events.map((e) => e.payload)).toEqual(['line 1', 'line 2', 'line 3']);
      expect(events[0]!.seq).toBeNull();
    });

    it('should record a completion once and answer 409 to the second', async () => {
      const { runner, job } = await claimedJob();
      const body = {
        status: 'completed',
        exitCode: 0,
        elapsedSec: 1.5,
        costMicros: 41200,
        sessionId: 'sess-9',
        cliVersion: '1.2.3',
        signal: null,
      };
      expect((await runner.complete(job.jobId, body)).status).toBe(204);
      const again = await runner.complete(job.jobId, body);
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('job_already_terminal');
      const done = await plane.admin.getJob(job.jobId);
      expect(done).toMatchObject({
        status: 'completed',
        exitCode: 0,
        elapsedSec: 1.5,
        costMicros: 41200,
        resultSessionId: 'sess-9',
        cliVersion: '1.2.3',
      });
      expect(done.completedAt).not.toBeNull();
      const batch = await runner.events(job.jobId, [event()]);
      expect(batch.status).toBe(409);
      expect(batch.body.error).toBe('job_terminal');
    });

    it('should make a cancelled job answer 409 to its runner', async () => {
      const { runner, job } = await claimedJob();
      await runner.events(job.jobId, [event()]);
      const cancelled = await plane.admin.cancelJob(job.jobId);
      expect(cancelled.status).toBe('cancelled');
      const batch = await runner.events(job.jobId, [event()]);
      expect(batch.status).toBe(409);
      expect(batch.body.error).toBe('job_terminal');
      const beat = await runner.heartbeat(job.jobId);
      expect(beat.status).toBe(409);
      expect(beat.body.message).toContain('cancelled');
      expect((await runner.complete(job.jobId, { status: 'cancelled', exitCode: 143, signal: 'SIGTERM' })).status).toBe(409);
      expect((await plane.admin.getJob(job.jobId)).eventCount).toBe(1);
    });

    it('should put a request id on every response and in every error body', async () => {
      const { runner, job } = await claimedJob();
      const ok = await runner.heartbeat(job.jobId);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const bad = await runner.claim(randomUUID());
      expect(bad.body.requestId).toBe(bad.headers.get('x-request-id'));
      const nowhere = await runner.raw('GET', '/api/runner/nowhere');
      expect(nowhere.status).toBe(404);
      expect(nowhere.body.requestId).toBe(nowhere.headers.get('x-request-id'));
      expect((await runner.raw('GET', `/api/runner/jobs/${job.jobId}/claim`)).status).toBe(405);
    });

    describe('rejected requests', () => {
      it('should answer 400 to malformed event batches and store none of them', async () => {
        const { runner, job } = await claimedJob();
        const post = (body: string) => runner.raw('POST', `/api/runner/jobs/${job.jobId}/events`, { body });
        const batch = (events: unknown[]) => JSON.stringify({ events });
        const cases: Array<[string, string]> = [
          ['bad JSON', '{"events": ['],
          ['no body', ''],
          ['not an object', '[1, 2]'],
          ['events not an array', JSON.stringify({ events: 'x' })],
          ['empty batch', batch([])],
          ['257 events', batch(Array.from({ length: 257 }, () => event()))],
          ['bad uuid', batch([event({ eventId: 'not-a-uuid' })])],
          ['unknown kind', batch([event({ kind: 'shout' as never })])],
          ['bad ts', batch([event({ ts: 'yesterday' })])],
          ['ts without offset', batch([event({ ts: '2025-01-01T00:00:00' })])],
          ['negative seq', batch([event({ seq: -1 })])],
          ['fractional seq', batch([event({ seq: 1.5 })])],
          ['one bad among good', batch([event(), event(), event({ kind: 'nope' as never })])],
        ];
        for (const [name, body] of cases) {
          const res = await post(body);
          expect({ name, status: res.status, error: res.body?.error }).toEqual({ name, status: 400, error: 'invalid_request' });
          expect(res.body.message.length).toBeGreaterThan(20);
        }
        const detail = await plane.admin.getJob(job.jobId);
        expect(detail.eventCount).toBe(0);
        expect(detail.status).toBe('claimed');
      });

      it('should answer 400 naming the field, never 500, to values the database cannot store', async () => {
        const { runner, job } = await claimedJob();
        const deep = (levels: number) => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
        const cases: Array<[string, unknown, string]> = [
          ['a date that does not exist', event({ ts: '2025-02-30T00:00:00Z' }), 'events[0].ts'],
          ['hour 24', event({ ts: '2025-01-01T24:00:00Z' }), 'events[0].ts'],
          ['year 0', event({ ts: '0000-01-01T00:00:00Z' }), 'events[0].ts'],
          ['nesting past 64 levels', event({ payload: deep(65) }), 'events[0].payload'],
          ['a lone surrogate in a string', event({ payload: { text: 'cut emoji \ud83d' } }), 'events[0].payload'],
          ['a lone surrogate as text', event({ payload: 'cut \udc00' }), 'events[0].payload'],
          ['a NUL in a key', event({ payload: { 'k\u0000': 1 } }), 'events[0].payload'],
          ['a NUL in a string', event({ payload: { text: 'a\u0000b' } }), 'events[0].payload'],
        ];
        for (const [name, bad, field] of cases) {
          const res = await runner.events(job.jobId, [event(), bad]);
          expect({ name, status: res.status, error: res.body?.error }).toEqual({ name, status: 400, error: 'invalid_request' });
          expect(res.body.message).toContain(field.replace('[0]', '[1]'));
        }
        // Nesting so deep that JSON.stringify overflows the stack (on the client too: sent as text) is still a 400.
        const post = (body: string) => runner.raw('POST', `/api/runner/jobs/${job.jobId}/events`, { body });
        const abyss = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
        const deepPayload = await post(JSON.stringify({ events: [event({ payload: 'X' })] }).replace('"X"', abyss));
        expect([deepPayload.status, deepPayload.body.message]).toEqual([400, expect.stringContaining('events[0].payload')]);
        const deepEvent = await post(`{"events":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`);
        expect([deepEvent.status, deepEvent.body.message]).toEqual([400, expect.stringContaining('events[0]')]);
        expect((await plane.admin.getJob(job.jobId)).eventCount).toBe(0);
        // Nesting of exactly 64 levels, emoji and other characters are stored as they came.
        const fine = event({ payload: { deep: deep(63), text: 'emoji 😀 tab\t bell\u0007' } });
        expect((await runner.events(job.jobId, [fine])).status).toBe(204);
        expect((await plane.admin.listEvents(job.jobId)).events[0]!.payload).toEqual(fine.payload);
      });

      it('should answer 400 to completions with values out of range or too long, and take the largest allowed', async () => {
        const { runner, job } = await claimedJob();
        const cases: Array<[Record<string, unknown>, string]> = [
          [{ elapsedSec: 1e308 }, 'elapsedSec'],
          [{ costMicros: 2 ** 53 - 1 }, 'costMicros'],
          [{ errorMessage: 'x'.repeat(64 * 1024 + 1) }, 'errorMessage'],
          [{ errorMessage: 'bad \u0000 byte' }, 'errorMessage'],
          [{ errorMessage: 'cut \ud83d' }, 'errorMessage'],
          [{ signal: 'S'.repeat(257) }, 'signal'],
          [{ cliVersion: 'v'.repeat(257) }, 'cliVersion'],
          [{ cliVersion: '1.0\u0000' }, 'cliVersion'],
          [{ sessionId: 's'.repeat(1025) }, 'sessionId'],
          [{ sessionId: '\udc00' }, 'sessionId'],
        ];
        for (const [extra, field] of cases) {
          const res = await runner.complete(job.jobId, { status: 'failed', exitCode: 1, ...extra });
          expect({ field, status: res.status }).toEqual({ field, status: 400 });
          expect(res.body.message).toContain(field);
        }
        expect((await plane.admin.getJob(job.jobId)).status).toBe('claimed');
        const largest = {
          errorMessage: 'e'.repeat(64 * 1024),
          elapsedSec: 365 * 24 * 3600,
          costMicros: 1e12,
          signal: 'SIGKILL',
          exitCode: -(2 ** 31),
        };
        expect((await runner.complete(job.jobId, { status: 'failed', ...largest })).status).toBe(204);
        expect(await plane.admin.getJob(job.jobId)).toMatchObject({ ...largest, status: 'failed' });
      });

      it("should answer a revoked or expired token's waiting long-poll with 401 at once, not with the next job", async () => {
        const companyId = company('revoked-poll');
        const revoked = await plane.admin.createToken({ companyId });
        const expiring = await plane.admin.createToken({ companyId });
        const revokedPoll = new RunnerHttp(plane.url, revoked.token).next();
        const expiringPoll = new RunnerHttp(plane.url, expiring.token).next();
        await sleep(300); // both wait in the server
        const revokedAt = Date.now();
        await plane.admin.revokeToken(revoked.info.tokenId);
        await plane.admin.rotateToken({ tokenId: expiring.info.tokenId, graceSec: 0 });
        const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
        const [a, b] = await Promise.all([revokedPoll, expiringPoll]);
        expect(Date.now() - revokedAt).toBeLessThan(2000);
        expect([a.status, a.body.error]).toEqual([401, 'invalid_runner_token']);
        expect([b.status, b.body.error]).toEqual([401, 'runner_token_expired']);
        expect((await plane.admin.getJob(job.jobId)).status).toBe('queued');
      });

      it('should answer 401 runner_token_expired with expiredAt to an expired token, and 401 invalid_runner_token once revoked', async () => {
        const companyId = company('expired');
        const { token, info } = await plane.admin.createToken({ companyId, ttlSec: 1 });
        const runner = new RunnerHttp(plane.url, token);
        const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
        await sleep(Date.parse(info.expiresAt) - Date.now() + 50);
        for (const res of [await runner.next(), await runner.claim(job.jobId)]) {
          expect(res.status).toBe(401);
          expect(res.body).toMatchObject({
            error: 'runner_token_expired',
            expiredAt: info.expiresAt,
            requestId: res.headers.get('x-request-id'),
          });
          expect(res.body.message).toContain('tokens rotate');
          expect(res.body.message).not.toContain(token);
        }
        await plane.admin.revokeToken(info.tokenId);
        expect((await runner.next()).body.error).toBe('invalid_runner_token');
      });

      it('should name the field that was wrong', async () => {
        const { runner, job } = await claimedJob();
        const res = await runner.events(job.jobId, [event(), event({ eventId: 'abc' })]);
        expect(res.body.message).toContain('events[1].eventId');
        expect(res.body.message).toContain('UUID');
      });

      it('should answer 413 to an oversized body and still serve the next request', async () => {
        const { runner, job } = await claimedJob();
        const huge = JSON.stringify({ events: [event({ payload: 'x'.repeat(DEFAULT_MAX_BODY_BYTES) })] });
        const res = await runner.raw('POST', `/api/runner/jobs/${job.jobId}/events`, { body: huge });
        expect(res.status).toBe(413);
        expect(res.body.error).toBe('payload_too_large');
        expect((await plane.admin.getJob(job.jobId)).eventCount).toBe(0);
        expect((await runner.events(job.jobId, [event()])).status).toBe(204);
      });

      it("should refuse with 413 job_storage_quota_exceeded a batch past the job's quota, store nothing of it, and take the rest", async () => {
        const quota = 100 * 1024;
        const small = await startPlane(backend, { maxJobEventBytes: quota });
        try {
          const companyId = company('quota');
          const runner = await runnerFor(small, companyId);
          const job = await small.admin.enqueueJob({ companyId, agentName: 'Loud', prompt: 'p' });
          expect((await runner.claim(job.jobId)).status).toBe(200);
          // 10 KB lines: the payload as JSON text is 10,002 bytes, so nine fit in 100 KiB and a tenth does not.
          const line = (seq: number) => event({ seq, payload: 'x'.repeat(10_000) });
          const first = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(line);
          expect((await runner.events(job.jobId, first)).status).toBe(204);
          const past = await runner.events(job.jobId, [line(9), line(10)]);
          expect([past.status, past.body.error]).toEqual([413, 'job_storage_quota_exceeded']);
          expect(past.body.message).toContain('--max-job-events-mb');
          // The batch was undone whole; a retry of a batch stored before still succeeds (it adds nothing).
          expect((await small.admin.getJob(job.jobId)).eventCount).toBe(9);
          expect((await runner.events(job.jobId, first)).status).toBe(204);
          // A small one still fits; the job completes as usual.
          expect((await runner.events(job.jobId, [event({ seq: 11, payload: 'short' })])).status).toBe(204);
          expect(
            (await runner.complete(job.jobId, { status: 'failed', exitCode: 0, errorMessage: '2 events were not accepted' })).status,
          ).toBe(204);
          expect((await small.admin.getJob(job.jobId)).eventCount).toBe(10);
        } finally {
          await small.close();
        }
      });

      it('should answer 400 to invalid completions and leave the job running', async () => {
        const { runner, job } = await claimedJob();
        const cases = [
          { status: 'completed', exitCode: 1.5 },
          { status: 'completed' },
          { status: 'completed', exitCode: '0' },
          { status: 'done', exitCode: 0 },
          { status: 'completed', exitCode: 0, costMicros: -1 },
          { status: 'completed', exitCode: 0, costMicros: 0.5 },
          { status: 'completed', exitCode: 0, elapsedSec: -1 },
          { status: 'completed', exitCode: 0, sessionId: 42 },
        ];
        for (const body of cases) {
          const res = await runner.complete(job.jobId, body);
          expect({ body, status: res.status }).toEqual({ body, status: 400 });
        }
        expect((await runner.raw('POST', `/api/runner/jobs/${job.jobId}/complete`, { body: 'nope' })).status).toBe(400);
        expect((await plane.admin.getJob(job.jobId)).status).toBe('claimed');
        expect((await runner.complete(job.jobId, { status: 'failed', exitCode: 1, errorMessage: 'boom' })).status).toBe(204);
      });
    });

    describe("usage limits (docs/usage-limits.md): the descriptor's adapter type, excludeAdapterTypes, a completion's usageLimit", () => {
      const nextExcluding = (runner: RunnerHttp, types: string, signal?: AbortSignal) =>
        runner.raw('GET', `/api/runner/jobs/next?excludeAdapterTypes=${encodeURIComponent(types)}`, { signal });
      const limitOf = (
        resetsAt: string | null,
        errorMessage = `usage limit reached (${resetsAt ? `resets at ${resetsAt}` : 'the CLI gave no reset time'}): spent`,
      ) => ({
        status: 'failed',
        exitCode: 1,
        errorMessage,
        usageLimit: { resetsAt },
      });

      it('should name the adapter type in the descriptor, claude_local for a job queued without one', async () => {
        const companyId = company('descriptor');
        const runner = await runnerFor(plane, companyId);
        const plain = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
        const first = await runner.next();
        expect(first.body).toEqual({
          jobId: plain.jobId,
          agentId: plain.agentId,
          agentName: 'Sarah',
          createdAt: plain.createdAt,
          adapterType: 'claude_local',
        });
        await runner.claim(plain.jobId);
        const codex = await plane.admin.enqueueJob({ companyId, agentName: 'Cody', prompt: 'p', adapterType: 'codex_local' });
        expect((await runner.next()).body).toMatchObject({ jobId: codex.jobId, adapterType: 'codex_local' });
      });

      it('should offer only jobs of adapter types the runner did not exclude, oldest first, and wait for one', async () => {
        const companyId = company('exclude');
        const runner = await runnerFor(plane, companyId);
        const claude = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
        const legacy = await plane.admin.enqueueJob({ companyId, agentName: 'Old', prompt: 'p', adapterType: 'byo_runner' });
        const codex = await plane.admin.enqueueJob({ companyId, agentName: 'Cody', prompt: 'p', adapterType: 'codex_local' });
        expect((await nextExcluding(runner, 'claude_local,byo_runner')).body).toMatchObject({ jobId: codex.jobId });
        await runner.claim(codex.jobId);

        // Nothing left it takes: the poll waits, and answers as soon as such a job is queued.
        const poll = nextExcluding(runner, 'claude_local,byo_runner');
        await sleep(300);
        const gemini = await plane.admin.enqueueJob({ companyId, agentName: 'Gem', prompt: 'p', adapterType: 'gemini_local' });
        expect((await poll).body).toMatchObject({ jobId: gemini.jobId, adapterType: 'gemini_local' });
        await runner.claim(gemini.jobId);

        // An empty parameter excludes nothing: the oldest job comes first again. (Just offered, it is then passed over
        // for a while, as for any poller; so is the legacy job, excluded or not, once it was offered.)
        expect((await nextExcluding(runner, '')).body).toMatchObject({ jobId: claude.jobId });
        expect((await nextExcluding(runner, 'claude_local')).body).toMatchObject({ jobId: legacy.jobId });
      });

      it('should refuse an excludeAdapterTypes that names no adapter types, saying what it must be', async () => {
        const runner = await runnerFor(plane, company('bad-exclude'));
        for (const bad of ['claude local', 'a,,b,<script>', 'x'.repeat(65), Array.from({ length: 33 }, (_, i) => `t${i}`).join(',')]) {
          const res = await nextExcluding(runner, bad);
          expect(res.status, bad).toBe(400);
          expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(/^excludeAdapterTypes must name/) });
        }
      });

      it('should put a job that failed on a usage limit back in the queue, with the limit, its reset and its message', async () => {
        const companyId = company('requeue');
        const runner = await runnerFor(plane, companyId);
        const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
        await runner.claim(job.jobId);
        await runner.events(job.jobId, [event({ seq: 0, payload: 'first attempt' })]);
        const resetsAt = '2026-12-07T15:00:00.000Z';
        expect((await runner.complete(job.jobId, limitOf(resetsAt))).status).toBe(204);

        const requeued = await plane.admin.getJob(job.jobId);
        expect(requeued).toMatchObject({
          status: 'queued',
          attempt: 1,
          claimedByTokenId: null,
          completedAt: null,
          exitCode: null,
          errorMessage: `usage limit reached (resets at ${resetsAt}): spent`,
          usageLimitResetsAt: resetsAt,
          usageLimitCount: 1,
        });
        expect(Date.parse(requeued.usageLimitedAt!)).toBeGreaterThan(Date.now() - 60_000);

        // The next claim is a new attempt, whose events come after the first one's.
        expect((await runner.next()).body).toMatchObject({ jobId: job.jobId });
        expect((await runner.claim(job.jobId)).status).toBe(200);
        await runner.events(job.jobId, [event({ seq: 0, payload: 'second attempt' })]);
        expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
        const done = await plane.admin.getJob(job.jobId);
        expect(done).toMatchObject({
          status: 'completed',
          attempt: 2,
          errorMessage: null,
          usageLimitResetsAt: resetsAt,
          usageLimitCount: 1,
        });
        expect((await plane.admin.listEvents(job.jobId)).events.map((stored) => [stored.attempt, stored.payload])).toEqual([
          [1, 'first attempt'],
          [2, 'second attempt'],
        ]);
      });

      it(`should fail a job on its ${USAGE_LIMIT_REQUEUES + 1}th usage limit, keeping the last one; a limit on another status is not one`, async () => {
        const companyId = company('give-up');
        const runner = await runnerFor(plane, companyId);
        const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
        for (let limit = 1; limit <= USAGE_LIMIT_REQUEUES; limit++) {
          expect((await runner.claim(job.jobId)).status).toBe(200);
          expect((await runner.complete(job.jobId, limitOf(null))).status).toBe(204);
          expect(await plane.admin.getJob(job.jobId)).toMatchObject({ status: 'queued', usageLimitCount: limit, usageLimitResetsAt: null });
        }
        await runner.claim(job.jobId);
        expect((await runner.complete(job.jobId, limitOf('2026-12-08T00:00:00.000Z'))).status).toBe(204);
        expect(await plane.admin.getJob(job.jobId)).toMatchObject({
          status: 'failed',
          attempt: USAGE_LIMIT_REQUEUES + 1,
          usageLimitCount: USAGE_LIMIT_REQUEUES + 1,
          usageLimitResetsAt: '2026-12-08T00:00:00.000Z',
          errorMessage: expect.stringMatching(/^usage limit reached \(resets at /),
        });

        const other = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
        await runner.claim(other.jobId);
        expect((await runner.complete(other.jobId, { ...limitOf(null), status: 'completed', exitCode: 0 })).status).toBe(204);
        expect(await plane.admin.getJob(other.jobId)).toMatchObject({ status: 'completed', usageLimitCount: 0, usageLimitedAt: null });
      });

      it('should refuse a usageLimit that is not {resetsAt: time or null}, naming the field', async () => {
        const companyId = company('bad-limit');
        const runner = await runnerFor(plane, companyId);
        const job = await plane.admin.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'p' });
        await runner.claim(job.jobId);
        for (const usageLimit of [{ resetsAt: 'in an hour' }, {}, 'soon', { resetsAt: 1_796_650_000 }]) {
          const res = await runner.complete(job.jobId, { status: 'failed', exitCode: 1, usageLimit });
          expect(res.status, JSON.stringify(usageLimit)).toBe(400);
          expect(res.body.message).toMatch(/usageLimit/);
        }
        expect((await plane.admin.getJob(job.jobId)).status).toBe('claimed');
      });
    });
  });
}
