/**
 * What the daemon tells its metrics as it works. The pipeline calls these methods and never touches a counter, so
 * that what is counted, and how, lives here alone.
 */
export interface Metrics {
  jobStarted(jobId: string): void;
  jobFinished(jobId: string, outcome: string): void;
  /** The server answered a long-poll (with a job or without). */
  pollAnswered(): void;
  pollFailed(): void;
  /** A batch was written to the spool, to be sent. */
  batchSpooled(): void;
  /** `batches` spooled batches are settled: accepted, set aside, or not to be sent since the server ended the job. */
  batchesSettled(batches: number): void;
  /** The server accepted a request of `events` events. */
  eventsSent(events: number): void;
  batchRetried(): void;
  /** A job of the agent CLI `agent` ended on a usage limit. */
  usageLimitHit(agent: string): void;
  /** The agent CLIs paused now after a usage limit, each to the end of its pause (ms since epoch). */
  pausesChanged(pauses: ReadonlyMap<string, number>): void;
}

/**
 * The runner's counters and gauges, in Prometheus' text format. Kept in memory by the daemon and served
 * on `--metrics-port` beside `/healthz`; nothing here does I/O.
 */
export class RunnerMetrics implements Metrics {
  private readonly jobsByOutcome = new Map<string, number>();
  private readonly runningSince = new Map<string, number>();
  private acceptedEvents = 0;
  private batchesRetried = 0;
  private pollErrors = 0;
  /** Batches written to the spool that the server has not accepted yet. */
  private spoolBacklog = 0;
  /** When the server last answered a poll (ms since epoch); 0 before the first answer. */
  private lastPollAnswerAt = 0;
  private readonly usageLimitsByAgent = new Map<string, number>();
  private pauses: ReadonlyMap<string, number> = new Map();

  constructor(private readonly now: () => number = Date.now) {}

  jobStarted(jobId: string): void {
    this.runningSince.set(jobId, this.now());
  }

  jobFinished(jobId: string, outcome: string): void {
    this.runningSince.delete(jobId);
    this.jobsByOutcome.set(outcome, (this.jobsByOutcome.get(outcome) ?? 0) + 1);
  }

  pollAnswered(): void {
    this.lastPollAnswerAt = this.now();
  }

  pollFailed(): void {
    this.pollErrors++;
  }

  batchSpooled(): void {
    this.spoolBacklog++;
  }

  batchesSettled(batches: number): void {
    this.spoolBacklog -= batches;
  }

  eventsSent(events: number): void {
    this.acceptedEvents += events;
  }

  batchRetried(): void {
    this.batchesRetried++;
  }

  usageLimitHit(agent: string): void {
    this.usageLimitsByAgent.set(agent, (this.usageLimitsByAgent.get(agent) ?? 0) + 1);
  }

  pausesChanged(pauses: ReadonlyMap<string, number>): void {
    this.pauses = pauses;
  }

  get runningJobs(): number {
    return this.runningSince.size;
  }

  /** Age of the oldest running job, in seconds (0 when idle). */
  currentJobAgeSec(): number {
    const oldest = Math.min(...this.runningSince.values());
    return Number.isFinite(oldest) ? (this.now() - oldest) / 1000 : 0;
  }

  /** Healthy while jobs run (no polls then) or the server answered a poll in the last `staleMs`. */
  health(staleMs = 90_000): { ok: boolean; detail: string } {
    if (this.runningJobs > 0) return { ok: true, detail: 'running a job' };
    if (this.lastPollAnswerAt === 0) return { ok: false, detail: 'the server has not answered a poll yet' };
    const silentMs = this.now() - this.lastPollAnswerAt;
    return silentMs < staleMs
      ? { ok: true, detail: 'polling' }
      : { ok: false, detail: `the server has not answered a poll for ${Math.round(silentMs / 1000)} s` };
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [labels: string, value: number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric(
      'founderos_runner_jobs_total',
      'counter',
      'Jobs finished, by outcome.',
      [...this.jobsByOutcome].map(([outcome, count]) => [`{outcome="${outcome}"}`, count]),
    );
    metric('founderos_runner_events_sent_total', 'counter', 'Events the server accepted.', [['', this.acceptedEvents]]);
    metric('founderos_runner_batches_retried_total', 'counter', 'Event batches sent again after a failure.', [['', this.batchesRetried]]);
    metric('founderos_runner_poll_errors_total', 'counter', 'Long-polls that failed.', [['', this.pollErrors]]);
    metric('founderos_runner_spool_backlog_batches', 'gauge', 'Spooled batches the server has not accepted yet.', [
      ['', this.spoolBacklog],
    ]);
    metric('founderos_runner_running_jobs', 'gauge', 'Jobs running now.', [['', this.runningJobs]]);
    metric('founderos_runner_current_job_age_seconds', 'gauge', 'Age of the oldest running job.', [['', this.currentJobAgeSec()]]);
    const byAgent = (values: ReadonlyMap<string, number>, scale = 1) =>
      [...values].map(([agent, value]): [string, number] => [`{agent="${agent}"}`, value / scale]);
    metric(
      'founderos_runner_usage_limits_total',
      'counter',
      'Jobs that ended on a usage limit, by agent CLI.',
      byAgent(this.usageLimitsByAgent),
    );
    metric(
      'founderos_runner_usage_limited_until_seconds',
      'gauge',
      'When the pause of an agent CLI after a usage limit ends (Unix time), while it lasts: no job for it is claimed until then.',
      byAgent(this.pauses, 1000),
    );
    return `${lines.join('\n')}\n`;
  }
}
