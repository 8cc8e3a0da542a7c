/**
 * Long-poll plumbing. Database triggers NOTIFY on every change (see migrations.ts); `listenForChanges` hands those
 * notifications to the server's parts: queued jobs to the runners' dispatcher (dispatcher.ts), token changes to the
 * token store and the dispatcher, job changes to a WakeHub, which turns them into in-process wake-ups keyed by
 * topic for `longPoll` (an admin following a job's events). A waiter is registered *before* each check, so a
 * change that lands between the check and the wait still wakes it. The re-check about once a second is the
 * fallback for a notification that never came (e.g. a dropped LISTEN connection).
 */
import type { Db } from './db.js';
import type { Dispatcher } from './dispatcher.js';
import { CHANNEL_JOB_CHANGED, CHANNEL_JOB_QUEUED, CHANNEL_TOKEN_CHANGED } from './migrations.js';
import type { TokenStore } from './store/tokens.js';

export const RECHECK_INTERVAL_MS = 1000;

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
}

/** The parts of a server that hear the database's notifications. */
export interface ChangeListeners {
  /** Hears queued jobs (by company) and token changes; told when notifications stop and start again. */
  dispatcher: Pick<Dispatcher, 'jobQueued' | 'tokenChanged' | 'setNotified'>;
  /** Forgets a changed token; remembers none while notifications do not flow. */
  tokens: Pick<TokenStore, 'forget' | 'setNotified'>;
  /** Wakes those who wait on a job (an admin following its events) when it changes or gets events. */
  hub?: WakeHub;
}

/** Subscribes the server's parts to the database's notifications; resolves to an unsubscribe function. */
export async function listenForChanges(db: Db, { dispatcher, tokens, hub }: ChangeListeners): Promise<() => Promise<void>> {
  const offs = [
    await db.listen(CHANNEL_JOB_QUEUED, (companyId) => dispatcher.jobQueued(companyId)),
    await db.listen(CHANNEL_TOKEN_CHANGED, (tokenId) => {
      tokens.forget(tokenId);
      dispatcher.tokenChanged(tokenId);
    }),
  ];
  if (hub) offs.push(await db.listen(CHANNEL_JOB_CHANGED, (jobId) => hub.notify(jobTopic(jobId))));
  const offGaps = db.watchNotifications((flowing) => {
    tokens.setNotified(flowing);
    dispatcher.setNotified(flowing);
  });
  return async () => {
    offGaps();
    for (const off of offs) await off();
  };
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
