/**
 * A job's storage quota through the real runner: the server refuses the batches past it with 413
 * job_storage_quota_exceeded, and the runner treats that like any refused batch: it keeps the job running and
 * delivering, counts what was refused, and says so in the completion (never a clean `completed`).
 */
import { describe, expect, it } from 'vitest';
import { serverAndRunners } from '../support/end-to-end.js';

const QUOTA_BYTES = 256 * 1024;

describe('a job past its storage quota (end to end)', () => {
  const e2e = serverAndRunners({ maxJobEventBytes: QUOTA_BYTES });

  it('should store up to the quota, refuse the rest with 413, and report the loss in the completion', async () => {
    // 200 lines of about 10 KB: 2 MB of output for a quota of 256 KiB.
    const job = await e2e.server.enqueue({ mode: 'stream', lines: 200, pad: 10_000 });
    const runner = e2e.start();
    const done = await e2e.server.waitForJob(job.jobId, undefined, 60_000);
    expect(done.status).toBe('failed');
    expect(done.errorMessage).toMatch(/^the agent finished \(exit 0\), but \d+ events in \d+ batch(es)? were not accepted by the server/);
    expect(done.errorMessage).toContain('413 job_storage_quota_exceeded');
    expect(done.errorMessage).toContain('the transcript is incomplete');
    expect(done.resultSessionId).toBe('fake-session-0001');

    const events = await e2e.server.events(job.jobId);
    const stored = events.reduce((sum, event) => sum + Buffer.byteLength(JSON.stringify(event.payload)), 0);
    expect(stored).toBeLessThanOrEqual(QUOTA_BYTES);
    expect(events.length).toBeGreaterThan(5);
    // What was stored is in order, and the lines refused are missing whole, never cut.
    const seqs = events.map((event) => event.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const lost = Number(/but (\d+) events/.exec(done.errorMessage!)![1]);
    expect(events.length + lost).toBe(204); // init, 200 lines, tool use, tool result, result
    expect(runner.stderr).toContain('job_storage_quota_exceeded');
    expect(runner.child.exitCode).toBeNull(); // still serving
  }, 90_000);
});
