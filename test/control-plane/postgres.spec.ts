/**
 * The same suites against PostgreSQL, plus what only PostgreSQL can show: two servers on one database.
 * Runs when FOUNDEROS_TEST_DATABASE_URL is set (scripts/postgres-test-cluster.sh start prints one); each suite
 * gets a database of its own, created and dropped here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/control-plane/index.js';
import { RunnerHttp, TEST_DATABASE_URL, company, event, postgresBackend, runnerFor, sleep, startPlane, type Backend } from './helpers.js';
import { adminSuite } from './suites/admin.js';
import { leasesSuite } from './suites/leases.js';
import { runnerProtocolSuite } from './suites/runner-protocol.js';

describe.runIf(TEST_DATABASE_URL)('on PostgreSQL', () => {
  const backend = () => postgresBackend(TEST_DATABASE_URL!);
  runnerProtocolSuite(backend);
  leasesSuite(backend);
  adminSuite(backend);

  describe('two servers on one database', () => {
    let shared: Backend;
    let a: ControlPlane;
    let b: ControlPlane;

    beforeAll(async () => {
      shared = await backend();
      // Server A re-checks only once a minute on its own: answering within seconds proves the NOTIFY from B woke it.
      [a, b] = await Promise.all([
        startPlane(shared, { longPollMs: 20_000, longPollRecheckMs: 60_000 }),
        startPlane(shared, { longPollMs: 20_000, longPollRecheckMs: 60_000 }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await shared?.dispose();
    });

    it('should wake a long-poll on server A when server B enqueues (LISTEN/NOTIFY)', async () => {
      const companyId = company('multi');
      const runner = await runnerFor(a, companyId);
      const poll = runner.next();
      await sleep(300);
      const enqueuedAt = Date.now();
      const job = await b.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      const res = await poll;
      expect(res.status).toBe(200);
      expect(res.body.jobId).toBe(job.jobId);
      expect(Date.now() - enqueuedAt).toBeLessThan(2000);
    });

    it('should answer a long-poll waiting on A with 401 as soon as its token is revoked on B', async () => {
      const companyId = company('multi-revoke');
      const { token, info } = await a.admin.createToken({ companyId });
      const poll = new RunnerHttp(a.url, token).next();
      await sleep(300);
      const revokedAt = Date.now();
      await b.admin.revokeToken(info.tokenId);
      const res = await poll;
      expect([res.status, res.body.error]).toEqual([401, 'invalid_runner_token']);
      expect(Date.now() - revokedAt).toBeLessThan(2000);
    });

    it('should wake an events follower on A when a runner posts to B', async () => {
      const companyId = company('multi-follow');
      const runner = await runnerFor(b, companyId);
      const job = await a.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      await runner.claim(job.jobId);
      const waiting = a.admin.listEvents(job.jobId, { waitMs: 20_000 });
      await sleep(300);
      const sentAt = Date.now();
      await runner.events(job.jobId, [event({ seq: 0 })]);
      expect((await waiting).events).toHaveLength(1);
      expect(Date.now() - sentAt).toBeLessThan(2000);
    });

    it('should hand a job to exactly one of the polls waiting on both servers', async () => {
      const companyId = company('multi-fan-out');
      const runners = await Promise.all(Array.from({ length: 8 }, (_, i) => runnerFor(i % 2 === 0 ? a : b, companyId)));
      const answers: { status: number; jobId?: string }[] = [];
      const giveUp = new AbortController();
      const polls = runners.map((runner) =>
        runner.next(giveUp.signal).then(
          (res) => answers.push({ status: res.status, jobId: res.body?.jobId }),
          () => {},
        ),
      );
      await sleep(300);
      const job = await b.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'once' });
      await sleep(1500);
      expect(answers).toEqual([{ status: 200, jobId: job.jobId }]);
      giveUp.abort();
      await Promise.all(polls);
    });

    it('should hand each of 100 jobs to exactly one of 8 runners spread over both servers', async () => {
      const companyId = company('multi-race');
      const runners = await Promise.all(Array.from({ length: 8 }, (_, i) => runnerFor(i % 2 === 0 ? a : b, companyId)));
      const ids = new Set<string>();
      for (let i = 0; i < 100; i++) ids.add((await a.admin.enqueueJob({ companyId, agentName: 'A', prompt: `${i}` })).jobId);
      const claims: string[] = [];
      const done = new AbortController();
      await Promise.all(
        runners.map(async (runner) => {
          while (!done.signal.aborted) {
            const next = await runner.next(done.signal).catch(() => undefined);
            if (next?.status !== 200) continue;
            const claim = await runner.claim(next.body.jobId);
            if (claim.status !== 200) continue;
            claims.push(claim.body.jobId);
            if (claims.length >= ids.size) done.abort();
          }
        }),
      );
      expect(claims).toHaveLength(100);
      expect(new Set(claims)).toEqual(ids);
      // Each claimed once: a second claim would have counted a second attempt.
      const jobs = await a.admin.listJobs({ companyId, limit: 1000 });
      expect(jobs.map((job) => [job.status, job.attempt])).toEqual(jobs.map(() => ['claimed', 1]));
    });
  });
});
