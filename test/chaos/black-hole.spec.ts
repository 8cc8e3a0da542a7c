import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startControlPlane } from '../../src/control-plane/index.js';
import { startBlackHoleProxy } from '../support/black-hole-proxy.js';
import { FAKE_CLAUDE, RunnerProcess, until, workspaceFile } from '../support/runner-process.js';
import { deliveryOf, numberedLines, storedEvents } from '../support/store-checks.js';

/**
 * How long the path is silently down: several first deadlines, so that the wait for the path is covered, plus a random
 * part, so that the path does not always come back just before a probe (the probes are a whole second apart).
 */
const HOLE_MS = Number(process.env.BLACK_HOLE_MS ?? 7_500 + Math.floor(Math.random() * 1_000));
/** The goal is under 5 s after the path returns; typically 0.1 to 1.1 s (up to a probe interval, then one round trip). */
const FIRST_BATCH_WITHIN_MS = 5_000;

describe('a network path that silently drops (no RST), then comes back', () => {
  it('should store the first batch within 5 s of the path coming back, and every line exactly once in order', {
    timeout: 120_000,
  }, async () => {
    const server = await startControlPlane({ dataDir: mkdtempSync(join(tmpdir(), 'black-hole-server-')), longPollMs: 3_000 });
    const proxy = await startBlackHoleProxy(server.url);
    // The agent counts what it printed in its workspace, the one place it may write in the sandbox.
    const workDir = mkdtempSync(join(tmpdir(), 'black-hole-work-'));
    const progressFile = workspaceFile(workDir, 'hole', 'printed');
    writeFileSync(progressFile, '0');
    const { token } = await server.admin.createToken({ companyId: 'hole', name: 'black hole runner' });
    const lines = Math.ceil((HOLE_MS + 6_000) / 20);
    const job = await server.admin.enqueueJob({
      companyId: 'hole',
      agentName: 'Hole',
      agentId: 'hole',
      prompt: JSON.stringify({ mode: 'stream', lines, delayMs: 20, progressFile: 'printed' }),
    });
    // The runner's own retry timings, not the short ones of the other suites: the backoff after an outage is part of what is measured.
    const runner = new RunnerProcess(['start', `--server-url=${proxy.url}`], {
      FOUNDEROS_RUNNER_TOKEN: token,
      FOUNDEROS_CLAUDE_BIN: FAKE_CLAUDE,
      FOUNDEROS_RUNNER_RETRY_INITIAL_MS: '1000',
      FOUNDEROS_RUNNER_RETRY_MAX_MS: '30000',
      FOUNDEROS_RUNNER_WORK_DIR: workDir,
    });
    try {
      await until(
        async () => (await server.admin.getJob(job.jobId)).eventCount > 20,
        30_000,
        () => `the job never streamed\n${runner.stderr}`,
        50,
      );
      proxy.drop();
      await new Promise((resolve) => setTimeout(resolve, HOLE_MS));
      const stored = (await server.admin.getJob(job.jobId)).eventCount;
      proxy.restore();
      const back = Date.now();
      await until(
        async () => (await server.admin.getJob(job.jobId)).eventCount > stored,
        30_000,
        () => `no batch stored within 30 s of the path coming back\n${runner.stderr}`,
        20,
      );
      const firstBatchMs = Date.now() - back;
      await until(
        async () => ['completed', 'failed', 'cancelled'].includes((await server.admin.getJob(job.jobId)).status),
        60_000,
        () => `the job never ended\n${runner.stderr}`,
        50,
      );
      const printed = Number(readFileSync(progressFile, 'utf8'));
      const delivery = deliveryOf(numberedLines(await storedEvents(server.admin, job.jobId), 'line'), printed);
      process.stdout.write(
        `\nblack hole of ${HOLE_MS / 1000} s: first batch stored ${(firstBatchMs / 1000).toFixed(2)} s after the path came back\n`,
      );
      expect(printed).toBe(lines);
      expect(delivery).toEqual({ delivered: lines, duplicates: 0, lost: 0, inOrder: true });
      expect((await server.admin.getJob(job.jobId)).status).toBe('completed');
      expect(firstBatchMs).toBeLessThan(FIRST_BATCH_WITHIN_MS);
    } finally {
      await runner.stop();
      await proxy.close();
      await server.close();
    }
  });
});
