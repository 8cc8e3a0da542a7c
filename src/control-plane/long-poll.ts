/**
 * Long-poll plumbing. Database triggers NOTIFY on every change (see migrations.ts); the WakeHub turns those
 * notifications into in-process wake-ups keyed by topic, and `longPoll` waits on them. A waiter is registered
 * *before* each check, so a change that lands between the check and the wait still wakes it. The re-check about
 * once a second is the fallback for a notification that never came (e.g. a dropped LISTEN connection).
 */
import type { Db } from './db.js';
import { CHANNEL_JOB_CHANGED, CHANNEL_JOB_QUEUED } from './migrations.js';

export const RECHECK_INTERVAL_MS = 1000;

/** Wakes when a job of the company becomes queued. */
export const queuedTopic = (companyId: string) => `queued:${companyId}`;
/** Wakes when a job's status changes or it gets events. */
export const jobTopic = (jobId: string) => `job:${jobId}`;

class Waiter {
  private fired = false;
  private wake: (() => void) | undefined;

  constructor(private readonly release: (waiter: Waiter) => void) {}

  fire(): void {
    this.fired = true;
    this.wake?.();
  }

  /** Resolves on a notification (also one that came before this call), after `ms`, or on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.fired || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  dispose(): void {
    this.release(this);
  }
}

export class WakeHub {
  private readonly waiters = new Map<string, Set<Waiter>>();

  notify(topic: string): void {
    for (const waiter of this.waiters.get(topic) ?? []) waiter.fire();
  }

  /** Registers interest in a topic from now on; dispose it when done (the map holds only live waiters). */
  waiter(topic: string): Waiter {
    const waiter = new Waiter((w) => {
      const set = this.waiters.get(topic);
      set?.delete(w);
      if (set?.size === 0) this.waiters.delete(topic);
    });
    let set = this.waiters.get(topic);
    if (!set) this.waiters.set(topic, (set = new Set()));
    set.add(waiter);
    return waiter;
  }

  /** Subscribes the hub to the database's notifications; resolves to an unsubscribe function. */
  async attach(db: Db): Promise<() => Promise<void>> {
    const offQueued = await db.listen(CHANNEL_JOB_QUEUED, (companyId) => this.notify(queuedTopic(companyId)));
    const offChanged = await db.listen(CHANNEL_JOB_CHANGED, (jobId) => this.notify(jobTopic(jobId)));
    return async () => {
      await offQueued();
      await offChanged();
    };
  }
}

export interface LongPollOptions<T> {
  hub: WakeHub;
  topic: string;
  /** Resolves to a result to answer with, or undefined to keep waiting. */
  check: () => Promise<T | undefined>;
  waitMs: number;
  /** Ends the wait early (client gone, server closing); the result is then undefined. */
  signal?: AbortSignal;
  recheckMs?: number;
}

/** Checks, then waits for a wake-up or the re-check interval, until a result, the deadline or an abort. */
export async function longPoll<T>(options: LongPollOptions<T>): Promise<T | undefined> {
  const { hub, topic, check, signal, recheckMs = RECHECK_INTERVAL_MS } = options;
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const waiter = hub.waiter(topic);
    try {
      const result = await check();
      if (result !== undefined) return result;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return undefined;
      await waiter.wait(Math.min(left, recheckMs), signal);
      if (signal?.aborted) return undefined;
    } finally {
      waiter.dispose();
    }
  }
}

/**
 * Jobs this server offered to a poller moments ago, per company. Runners sharing a token all poll; if each
 * were offered the oldest job, all but one would lose the claim race on every job. Offering jobs not just
 * offered elsewhere spreads them over the pollers; a job is still offered again if nothing else is queued, or
 * once the claim it was offered for had time to happen.
 */
export class RecentOffers {
  private readonly byCompany = new Map<string, Map<string, number>>();

  constructor(private readonly ttlMs = 2000) {}

  /** Job ids offered for the company within the TTL (pruning older ones). */
  recent(companyId: string): string[] {
    const offers = this.byCompany.get(companyId);
    if (!offers) return [];
    const cutoff = Date.now() - this.ttlMs;
    for (const [jobId, at] of offers) if (at < cutoff) offers.delete(jobId);
    if (offers.size === 0) this.byCompany.delete(companyId);
    return [...offers.keys()];
  }

  add(companyId: string, jobId: string): void {
    let offers = this.byCompany.get(companyId);
    if (!offers) this.byCompany.set(companyId, (offers = new Map()));
    offers.set(jobId, Date.now());
  }
}
