/**
 * Hands queued jobs to waiting long-polls (`GET /jobs/next`) with no query per waiting poll.
 *
 * A poll is authenticated once, when it arrives, and then sleeps among its company's waiters. The database
 * announces every job that becomes queued (NOTIFY, by company); an announcement wakes the company once: one
 * statement offers up to as many jobs as there are waiters, and each job goes to exactly one waiter, the longest
 * waiting first. A job offered here is held back from every other poll, on every server, until its claim or
 * until the offer lapses (`offerMs`). A waiter leaves with a job, at its deadline, when its client goes, or when
 * its token changes.
 *
 * A look that finds nothing to offer makes the company known to be empty until its next announcement, so the polls
 * that arrive meanwhile cost no query either. A timer looks only where no announcement can come: when an offer
 * made earlier (perhaps by another server) lapses unclaimed, when a job was held by another statement at the
 * moment of a look, after a look failed, and once a second while the database's notifications do not flow.
 *
 * A poll may name adapter types it is not taking now (Part 2, a CLI paused by a usage limit): such polls wait in a
 * queue of their own, per company and set of excluded types, which is offered only the other jobs.
 */
import type { JobDescriptor } from '../protocol/types.js';
import type { Offer, RunnerJobStore } from './store/runner-jobs.js';
import type { Authentication, RunnerIdentity, TokenStore } from './store/tokens.js';

/** How a poll ends: a job (200), nothing within its window (204), its token refused (401), too many polls (429). */
export type PollOutcome =
  | { kind: 'job'; job: JobDescriptor }
  | { kind: 'empty' }
  | { kind: 'refused'; auth: Exclude<Authentication, { kind: 'ok' }> }
  | { kind: 'busy'; retryAfterSec: number };

export interface DispatcherOptions {
  jobs: Pick<RunnerJobStore, 'offerJobs' | 'withdrawOffers'>;
  tokens: Pick<TokenStore, 'reauthenticate'>;
  /** Polls one token may hold at once on this server; past it a poll is answered `busy` at once. */
  maxPollsPerToken: number;
  /** How long a job offered to one poll is held back from the others, unless claimed. */
  offerMs?: number;
  log: (line: string) => void;
}

/** Long enough for a runner's claim, short enough that a runner gone between poll and claim delays little. */
export const DEFAULT_OFFER_MS = 5000;
/** A job held by another statement (a claim, another server's offer) is usually free again within milliseconds. */
const SKIPPED_RETRY_MS = 20;
/** After a failed look (the database is down), and between looks while notifications do not flow. */
const RETRY_MS = 1000;
/** Companies remembered as having nothing to offer, beyond those with waiting polls (the oldest are forgotten first). */
const MAX_KNOWN_EMPTY = 100_000;

const EMPTY: PollOutcome = { kind: 'empty' };
/** What most polls exclude: shared, so that a waiting poll holds no array of its own. */
const NONE: readonly string[] = Object.freeze([]);

class Waiter {
  private answered = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    public runner: RunnerIdentity,
    /** The adapter types this poll does not take, sorted. */
    readonly excluded: readonly string[],
    readonly endsAt: number,
    private readonly signal: AbortSignal,
    private readonly resolve: (outcome: PollOutcome) => void,
    private readonly leave: (waiter: Waiter) => void,
  ) {
    this.arm();
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  get done(): boolean {
    return this.answered;
  }

  answer(outcome: PollOutcome): void {
    if (this.answered) return;
    this.answered = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
    this.leave(this);
    this.resolve(outcome);
  }

  /** The token was judged again and is still good: wait on, until the deadline or the token's new expiry. */
  rejudged(runner: RunnerIdentity): void {
    this.runner = runner;
    clearTimeout(this.timer);
    this.arm();
  }

  /** Ends at the poll's deadline, or at the token's expiry when that comes first (a 401, never a job then). */
  private arm(): void {
    const { runner } = this;
    const expires = runner.validUntil <= this.endsAt;
    const outcome: PollOutcome = expires
      ? { kind: 'refused', auth: { kind: 'expired', expiredAt: runner.expiresAt, preview: runner.preview } }
      : EMPTY;
    this.timer = setTimeout(() => this.answer(outcome), Math.max(0, Math.min(this.endsAt, runner.validUntil) - Date.now()));
  }

  private readonly onAbort = () => this.answer(EMPTY);
}

/** The polls of one company that exclude the same adapter types (most exclude none). */
class CompanyQueue {
  /** In arrival order: the longest waiting first. */
  readonly waiters = new Set<Waiter>();
  /** Counts the company's announcements, so that a look can tell whether one came while it ran. */
  announcements = 0;
  looking = false;
  lookAgain = false;
  timer: NodeJS.Timeout | undefined;
  timerAt = Number.POSITIVE_INFINITY;

  constructor(
    readonly companyId: string,
    readonly excluded: readonly string[],
    readonly key: string,
  ) {}
}

/** The queue of a company's polls that exclude `excluded` (sorted). */
const queueKey = (companyId: string, excluded: readonly string[]) => `${companyId}\n${excluded.join(',')}`;

export class Dispatcher {
  /** By queue key (company and excluded adapter types). */
  private readonly queues = new Map<string, CompanyQueue>();
  /** Company → the keys of its queues. */
  private readonly companyQueues = new Map<string, Set<string>>();
  /**
   * Company → its queues' keys → until when (this process's clock) that queue has no job to offer; Infinity until
   * the company's next announcement.
   */
  private readonly knownEmpty = new Map<string, Map<string, number>>();
  private readonly byToken = new Map<string, Set<Waiter>>();
  private readonly offerMs: number;
  private notified = true;
  private degradedTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** One function for every waiter to leave by, rather than a closure each. */
  private readonly leaveQueue = (waiter: Waiter) => this.leave(waiter);

  constructor(private readonly options: DispatcherOptions) {
    this.offerMs = options.offerMs ?? DEFAULT_OFFER_MS;
  }

  /**
   * Waits up to `waitMs` for a job of the runner's company whose adapter type is not `excluded`; ends early, empty,
   * when `signal` aborts.
   */
  wait(runner: RunnerIdentity, excluded: readonly string[], waitMs: number, signal: AbortSignal): Promise<PollOutcome> {
    const polls = this.byToken.get(runner.tokenId);
    if (polls && polls.size >= this.options.maxPollsPerToken) {
      return Promise.resolve({ kind: 'busy', retryAfterSec: retryAfterSec(polls) });
    }
    if (signal.aborted || this.closed) return Promise.resolve(EMPTY);
    return new Promise((resolve) => {
      const sorted = excluded.length === 0 ? NONE : [...new Set(excluded)].sort();
      const queue = this.queueOf(runner.companyId, sorted);
      const waiter = new Waiter(runner, sorted, Date.now() + waitMs, signal, resolve, this.leaveQueue);
      queue.waiters.add(waiter);
      let mine = this.byToken.get(runner.tokenId);
      if (!mine) this.byToken.set(runner.tokenId, (mine = new Set()));
      mine.add(waiter);
      if (!this.isKnownEmpty(queue)) this.look(queue);
    });
  }

  /** A job of the company became queued (the database's announcement). */
  jobQueued(companyId: string): void {
    this.knownEmpty.delete(companyId);
    for (const queue of this.queuesOf(companyId)) {
      queue.announcements++;
      this.look(queue);
    }
  }

  /** A token was revoked or its expiry moved: its waiting polls are judged again (one query) and answered if refused. */
  tokenChanged(tokenId: string): void {
    const polls = this.byToken.get(tokenId);
    if (polls) this.rejudge([...polls]);
  }

  /**
   * Whether the database's notifications flow. While they do not, nothing is known to be empty and every company
   * with waiters is looked at once a second; when they flow again, whatever changed meanwhile was not announced,
   * so every company with waiters is looked at and every waiting token judged again.
   */
  setNotified(flowing: boolean): void {
    if (flowing === this.notified) return;
    this.notified = flowing;
    this.knownEmpty.clear();
    clearInterval(this.degradedTimer);
    this.degradedTimer = undefined;
    if (!flowing) {
      this.degradedTimer = setInterval(() => this.lookEverywhere(), RETRY_MS).unref();
      return;
    }
    this.lookEverywhere();
    const waiting = [...this.byToken.values()].flatMap((polls) => [...polls]);
    if (waiting.length > 0) this.rejudge(waiting);
  }

  /** Stops every timer; waiting polls are ended by their signals (the HTTP server's close aborts them). */
  close(): void {
    this.closed = true;
    clearInterval(this.degradedTimer);
    for (const queue of this.queues.values()) clearTimeout(queue.timer);
  }

  /** How many polls wait on this server (all companies). */
  get waiting(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.waiters.size;
    return count;
  }

  private queueOf(companyId: string, excluded: readonly string[]): CompanyQueue {
    const key = queueKey(companyId, excluded);
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new CompanyQueue(companyId, excluded, key)));
    let keys = this.companyQueues.get(companyId);
    if (!keys) this.companyQueues.set(companyId, (keys = new Set()));
    keys.add(key);
    return queue;
  }

  /** The company's queues: one, unless some of its polls exclude adapter types. */
  private *queuesOf(companyId: string): Generator<CompanyQueue> {
    for (const key of this.companyQueues.get(companyId) ?? []) {
      const queue = this.queues.get(key);
      if (queue) yield queue;
    }
  }

  private isKnownEmpty(queue: CompanyQueue): boolean {
    return (this.knownEmpty.get(queue.companyId)?.get(queue.key) ?? 0) > Date.now();
  }

  private leave(waiter: Waiter): void {
    const { companyId, tokenId } = waiter.runner;
    const polls = this.byToken.get(tokenId);
    polls?.delete(waiter);
    if (polls?.size === 0) this.byToken.delete(tokenId);
    const queue = this.queues.get(queueKey(companyId, waiter.excluded));
    if (!queue) return;
    queue.waiters.delete(waiter);
    this.prune(queue);
  }

  /** Forgets a queue nobody waits in; what is known of its emptiness stays in `knownEmpty`. */
  private prune(queue: CompanyQueue): void {
    if (queue.waiters.size > 0 || queue.looking || this.queues.get(queue.key) !== queue) return;
    clearTimeout(queue.timer);
    this.queues.delete(queue.key);
    const keys = this.companyQueues.get(queue.companyId);
    keys?.delete(queue.key);
    if (keys?.size === 0) this.companyQueues.delete(queue.companyId);
  }

  private lookEverywhere(): void {
    for (const queue of this.queues.values()) {
      queue.announcements++;
      this.look(queue);
    }
  }

  private look(queue: CompanyQueue): void {
    if (queue.looking) {
      queue.lookAgain = true;
      return;
    }
    queue.looking = true;
    queue.lookAgain = false;
    void this.offer(queue).finally(() => {
      queue.looking = false;
      // A poll that arrived, or a job announced, while this look ran (a poll answered by it may already be back).
      if (queue.lookAgain) this.look(queue);
      else this.prune(queue);
    });
  }

  /** Offers jobs to as many of the company's waiters as there are jobs to offer now. */
  private async offer(queue: CompanyQueue): Promise<void> {
    const wanted = queue.waiters.size;
    if (wanted === 0 || this.closed) return;
    const announcements = queue.announcements;
    let offer: Offer;
    try {
      offer = await this.options.jobs.offerJobs(queue.companyId, queue.excluded, wanted, this.offerMs);
    } catch (err) {
      this.options.log(
        `long-poll: looking for jobs of company ${queue.companyId} failed (again in ${RETRY_MS} ms): ${(err as Error).message}`,
      );
      this.lookLater(queue, RETRY_MS);
      return;
    }
    const unanswered: string[] = [];
    for (const job of offer.jobs) {
      const waiter = first(queue.waiters);
      if (waiter) waiter.answer({ kind: 'job', job });
      else unanswered.push(job.jobId);
    }
    if (unanswered.length > 0) {
      // Their polls went while the offer was made: the next poll, here or on another server, may have them now.
      await this.options.jobs.withdrawOffers(unanswered).catch((err: Error) => {
        this.options.log(`long-poll: withdrawing offers failed (they lapse in ${this.offerMs} ms): ${err.message}`);
      });
    } else if (offer.jobs.length < wanted) {
      if (offer.skipped) this.lookLater(queue, SKIPPED_RETRY_MS);
      else if (this.notified && queue.announcements === announcements) this.markEmpty(queue, offer.nextOfferInMs);
    }
  }

  /** Nothing to offer until the next announcement, or until an outstanding offer lapses (`lapsesInMs`). */
  private markEmpty(queue: CompanyQueue, lapsesInMs: number | null): void {
    const company = this.knownEmpty.get(queue.companyId) ?? new Map<string, number>();
    // Deleted and set again: the company becomes the newest entry, the last to be forgotten.
    this.knownEmpty.delete(queue.companyId);
    this.knownEmpty.set(queue.companyId, company);
    company.set(queue.key, lapsesInMs === null ? Number.POSITIVE_INFINITY : Date.now() + lapsesInMs);
    const oldest = first(this.knownEmpty.keys());
    if (this.knownEmpty.size > MAX_KNOWN_EMPTY && oldest !== undefined) this.knownEmpty.delete(oldest);
    if (lapsesInMs !== null) this.lookLater(queue, lapsesInMs);
  }

  /** One timer per company, the earliest asked for. */
  private lookLater(queue: CompanyQueue, delayMs: number): void {
    const at = Date.now() + delayMs;
    if (queue.timer !== undefined && queue.timerAt <= at) return;
    clearTimeout(queue.timer);
    queue.timerAt = at;
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      queue.timerAt = Number.POSITIVE_INFINITY;
      this.knownEmpty.get(queue.companyId)?.delete(queue.key);
      this.look(queue);
    }, delayMs).unref();
  }

  /**
   * Judges the waiters' tokens again in one query. Until the answer, they are out of their companies' queues, so
   * that no job goes to a poll whose token was just revoked; a token still good goes back to waiting.
   */
  private rejudge(waiters: Waiter[]): void {
    for (const waiter of waiters) this.queues.get(queueKey(waiter.runner.companyId, waiter.excluded))?.waiters.delete(waiter);
    const tokenIds = [...new Set(waiters.map((waiter) => waiter.runner.tokenId))];
    this.options.tokens.reauthenticate(tokenIds).then(
      (judged) => {
        const back = new Set<CompanyQueue>();
        for (const waiter of waiters) {
          const auth = judged.get(waiter.runner.tokenId);
          if (waiter.done || !auth) continue;
          if (auth.kind !== 'ok') {
            waiter.answer({ kind: 'refused', auth });
            continue;
          }
          waiter.rejudged(auth.runner);
          const queue = this.queueOf(auth.runner.companyId, waiter.excluded);
          queue.waiters.add(waiter);
          back.add(queue);
        }
        for (const queue of back) if (!this.isKnownEmpty(queue)) this.look(queue);
      },
      (err: Error) => {
        // The runners poll again at once and are authenticated afresh.
        this.options.log(`long-poll: judging tokens again failed; their polls end: ${err.message}`);
        for (const waiter of waiters) waiter.answer(EMPTY);
      },
    );
  }
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}

/** Seconds until the token's oldest poll ends, when a place is certain to free up (at least 1). */
function retryAfterSec(polls: Set<Waiter>): number {
  const oldest = first(polls);
  return Math.max(1, Math.ceil(((oldest?.endsAt ?? 0) - Date.now()) / 1000));
}
