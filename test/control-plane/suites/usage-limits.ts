/**
 * The usage-limit extension of the runner protocol (docs/usage-limits.md) over real HTTP: the descriptor's adapter type,
 * the long-poll's `excludeAdapterTypes`, and a completion's `usageLimit`, which puts the job back in the queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../../src/control-plane/index.js';
import { USAGE_LIMIT_REQUEUES } from '../../../src/control-plane/store/runner-jobs.js';
import { company, event, runnerFor, sleep, startPlane, type Backend, type RunnerHttp } from '../helpers.js';

export function usageLimitsSuite(makeBackend: () => Promise<Backend>) {
  describe('usage limits', () => {
    let backend: Backend;
    let plane: ControlPlane;

    beforeAll(async () => {
      backend = await makeBackend();
      plane = await startPlane(backend, { longPollMs: 10_000 });
    });
    afterAll(async () => {
      await plane?.close();
      await backend?.dispose();
    });

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
      expect(done).toMatchObject({ status: 'completed', attempt: 2, errorMessage: null, usageLimitResetsAt: resetsAt, usageLimitCount: 1 });
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
}
