/**
 * Leases: a job whose runner goes silent is failed ("runner lost") or requeued; heartbeats and events keep it. The
 * lease starts with the runner's first heartbeat: a runner that never sends one (Part 1) has the Part-1 job limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNER_LOST_MESSAGE, type ControlPlane } from '../../../src/control-plane/index.js';
import { company, event, eventually, runnerFor, sleep, startPlane, type Backend } from '../helpers.js';

const LEASE_MS = 300;
const PART1_JOB_LIMIT_MS = 2000;

export function leasesSuite(makeBackend: () => Promise<Backend>) {
  describe('leases', () => {
    const backends: Backend[] = [];
    let failing: ControlPlane;
    let requeuing: ControlPlane;

    beforeAll(async () => {
      // One database each: every server sweeps every expired lease of its database with its own setting.
      backends.push(await makeBackend(), await makeBackend());
      [failing, requeuing] = await Promise.all([
        startPlane(backends[0]!, { leaseMs: LEASE_MS, part1JobLimitMs: PART1_JOB_LIMIT_MS, onLeaseExpiry: 'fail', longPollMs: 5000 }),
        startPlane(backends[1]!, { leaseMs: LEASE_MS, part1JobLimitMs: PART1_JOB_LIMIT_MS, onLeaseExpiry: 'requeue', longPollMs: 5000 }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([failing?.close(), requeuing?.close()]);
      await Promise.all(backends.map((b) => b.dispose()));
    });

    /** A job claimed by a runner that speaks Part 2 (`heartbeat`: it has sent one) or only Part 1. */
    async function claimed(plane: ControlPlane, { heartbeat = true } = {}) {
      const companyId = company('lease');
      const runner = await runnerFor(plane, companyId);
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      expect((await runner.claim(job.jobId)).status).toBe(200);
      if (heartbeat) expect((await runner.heartbeat(job.jobId)).status).toBe(204);
      return { companyId, runner, job };
    }

    async function failedJob(plane: ControlPlane, jobId: string, timeoutMs = 5000) {
      return eventually(async () => {
        const current = await plane.admin.getJob(jobId);
        return current.status === 'failed' ? current : undefined;
      }, timeoutMs);
    }

    it('should fail a job whose runner went silent after a heartbeat with "runner lost"', async () => {
      const { runner, job } = await claimed(failing);
      const lost = await failedJob(failing, job.jobId);
      expect(lost.errorMessage).toBe(RUNNER_LOST_MESSAGE);
      expect(lost.completedAt).not.toBeNull();
      expect((await runner.heartbeat(job.jobId)).status).toBe(409);
      expect((await runner.events(job.jobId, [event()])).status).toBe(409);
      expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(409);
    });

    it('should not start the lease of a runner that never sent a heartbeat (Part 1): silent twice the lease, it completes', async () => {
      const { runner, job } = await claimed(failing, { heartbeat: false });
      await sleep(2 * LEASE_MS);
      expect((await runner.events(job.jobId, [event({ payload: 'still thinking' })])).status).toBe(204);
      await sleep(2 * LEASE_MS);
      expect((await failing.admin.getJob(job.jobId)).status).toBe('streaming');
      expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    });

    it('should give up on a Part-1 job at the Part-1 job limit counted from queueing', async () => {
      const { runner, job } = await claimed(failing, { heartbeat: false });
      const lost = await failedJob(failing, job.jobId, PART1_JOB_LIMIT_MS + 3000);
      expect(lost.errorMessage).toBe(RUNNER_LOST_MESSAGE);
      const livedMs = Date.parse(lost.completedAt!) - Date.parse(job.createdAt);
      expect(livedMs).toBeGreaterThanOrEqual(PART1_JOB_LIMIT_MS);
      expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(409);
    });

    it('should keep a Part-1 job alive past the limit while its event batches come', async () => {
      const { runner, job } = await claimed(failing, { heartbeat: false });
      const until = Date.parse(job.createdAt) + PART1_JOB_LIMIT_MS + 2 * LEASE_MS;
      while (Date.now() < until) {
        expect((await runner.events(job.jobId, [event()])).status).toBe(204);
        await sleep(LEASE_MS / 3);
      }
      expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    });

    it('should give a requeued job claimed by a Part-1 runner the Part-1 limit again, counted from that claim', async () => {
      const { companyId, job } = await claimed(requeuing, { heartbeat: false });
      const successor = await runnerFor(requeuing, companyId);
      const announced = await successor.next(); // answered once the first claim's Part-1 limit ran out
      expect(announced.body.jobId).toBe(job.jobId);
      expect((await successor.claim(job.jobId)).status).toBe(200);
      await sleep(4 * LEASE_MS);
      expect(await requeuing.admin.getJob(job.jobId)).toMatchObject({ status: 'claimed', attempt: 2 });
      expect((await successor.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    });

    it('should keep a job alive while heartbeats or event batches come', async () => {
      const { runner, job } = await claimed(failing);
      for (let i = 0; i < 8; i++) {
        await sleep(LEASE_MS / 3);
        const res = i % 2 === 0 ? await runner.heartbeat(job.jobId) : await runner.events(job.jobId, [event({ seq: i })]);
        expect(res.status).toBe(204);
      }
      expect((await failing.admin.getJob(job.jobId)).status).toBe('streaming');
      expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    });

    it('should requeue a lost job when so configured, wake pollers, and shut out the old runner', async () => {
      const { companyId, runner, job } = await claimed(requeuing);
      await runner.events(job.jobId, [event({ seq: 0, payload: 'first try' })]);
      const successor = await runnerFor(requeuing, companyId);
      const poll = successor.next(); // waits: the only job is claimed
      const announced = await poll;
      expect(announced.status).toBe(200);
      expect(announced.body.jobId).toBe(job.jobId);
      const requeued = await requeuing.admin.getJob(job.jobId);
      expect(requeued).toMatchObject({ status: 'queued', claimedByTokenId: null, attempt: 1 });

      // The old runner is told the job is not its own any more.
      const beat = await runner.heartbeat(job.jobId);
      expect(beat.status).toBe(409);
      expect(beat.body.error).toBe('job_not_owned_by_token');
      expect((await runner.events(job.jobId, [event()])).status).toBe(403);

      expect((await successor.claim(job.jobId)).status).toBe(200);
      await successor.events(job.jobId, [event({ seq: 0, payload: 'second try' })]);
      const { events } = await requeuing.admin.listEvents(job.jobId);
      expect(events.map((e) => [e.attempt, e.payload])).toEqual([
        [1, 'first try'],
        [2, 'second try'],
      ]);
      expect((await requeuing.admin.getJob(job.jobId)).attempt).toBe(2);
      await successor.complete(job.jobId, { status: 'completed', exitCode: 0 });
    });
  });
}
