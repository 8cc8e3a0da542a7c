import { describe, expect, it } from 'vitest';
import { RunnerMetrics } from '../../src/runner/metrics.js';
import { serveMetrics } from '../../src/streams/metrics-server.js';

describe('runner metrics', () => {
  it('should count jobs by outcome and age the oldest running job on the injected clock', () => {
    let now = 1_000;
    const metrics = new RunnerMetrics(() => now);
    metrics.jobStarted('a');
    now = 3_500;
    metrics.jobStarted('b');
    metrics.eventsSent(64);
    expect(metrics.currentJobAgeSec()).toBe(2.5);
    metrics.jobFinished('a', 'completed');
    metrics.jobFinished('b', 'failed');
    const text = metrics.render();
    expect(text).toContain('founderos_runner_jobs_total{outcome="completed"} 1');
    expect(text).toContain('founderos_runner_jobs_total{outcome="failed"} 1');
    expect(text).toContain('founderos_runner_events_sent_total 64');
    expect(text).toContain('founderos_runner_current_job_age_seconds 0');
    expect(text).toContain('# TYPE founderos_runner_spool_backlog_batches gauge');
  });

  it('should count usage limits by agent CLI and show the pauses in force, each to its end in Unix seconds', () => {
    const metrics = new RunnerMetrics(() => 0);
    metrics.usageLimitHit('claude');
    metrics.usageLimitHit('claude');
    metrics.pausesChanged(new Map([['claude', 1_796_650_000_000]]));
    let text = metrics.render();
    expect(text).toContain('founderos_runner_usage_limits_total{agent="claude"} 2');
    expect(text).toContain('# TYPE founderos_runner_usage_limited_until_seconds gauge');
    expect(text).toContain('founderos_runner_usage_limited_until_seconds{agent="claude"} 1796650000');
    metrics.pausesChanged(new Map());
    text = metrics.render();
    expect(text).not.toContain('founderos_runner_usage_limited_until_seconds{');
    expect(text).toContain('founderos_runner_usage_limits_total{agent="claude"} 2');
  });

  it('should be healthy while a job runs or the server answered a poll recently, and say why not otherwise', () => {
    let now = 10_000;
    const metrics = new RunnerMetrics(() => now);
    expect(metrics.health()).toEqual({ ok: false, detail: 'the server has not answered a poll yet' });
    metrics.pollAnswered();
    now += 89_000;
    expect(metrics.health()).toEqual({ ok: true, detail: 'polling' });
    now += 6_000;
    expect(metrics.health()).toEqual({ ok: false, detail: 'the server has not answered a poll for 95 s' });
    metrics.jobStarted('a');
    expect(metrics.health()).toEqual({ ok: true, detail: 'running a job' });
  });

  it('should serve /metrics and /healthz over HTTP, and 404 anything else', async () => {
    let healthy = true;
    const server = await serveMetrics(0, {
      metrics: () => 'm 1\n',
      health: () => ({ ok: healthy, detail: healthy ? 'polling' : 'server unreachable for 95 s' }),
    });
    try {
      expect(await (await fetch(`${server.url}/metrics`)).text()).toBe('m 1\n');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      healthy = false;
      const unhealthy = await fetch(`${server.url}/healthz`);
      expect(unhealthy.status).toBe(503);
      expect(await unhealthy.json()).toEqual({ ok: false, detail: 'server unreachable for 95 s' });
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
