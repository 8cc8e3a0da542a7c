/**
 * Wrong keys and tokens, counted per client address. Each address may be refused (401) a few times per window; past
 * that, the rest of its window gets 429 with Retry-After, answered without looking the credential up, so a flood of
 * guesses costs the database nothing. The log gets the first refusal of a burst and, once the burst is over, one line
 * that counts the rest, instead of a line per request.
 */
import type { PresentedSecret } from './tokens.js';
export interface RefusalThrottleOptions {
  /** Refusals an address may get per window before the 429s start. Default 20. */
  limit?: number;
  /** Default 10 s. */
  windowMs?: number;
  /** Addresses tracked at once; past it, new ones share one count (a flood from very many addresses). Default 10,000. */
  maxAddresses?: number;
  log: (line: string) => void;
  now?: () => number;
}

interface Burst {
  start: number;
  refusals: number;
}

/** The address that stands for every address past `maxAddresses`. */
const OTHERS = 'other addresses';

export class RefusalThrottle {
  private readonly bursts = new Map<string, Burst>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: RefusalThrottleOptions) {
    this.limit = options.limit ?? 20;
    this.windowMs = options.windowMs ?? 10_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), this.windowMs);
    this.sweeper.unref();
  }

  /** Seconds until `address` may be refused again, when it has used its refusals of this window; else undefined. */
  retryAfterSec(address: string): number | undefined {
    const burst = this.current(this.key(address));
    if (!burst || burst.refusals < this.limit) return undefined;
    return Math.max(1, Math.ceil((burst.start + this.windowMs - this.now()) / 1000));
  }

  /** Counts one refusal of `address`; true when it opens a burst (the one refusal of it worth a log line). */
  refused(address: string): boolean {
    const key = this.key(address);
    const burst = this.current(key);
    if (burst) {
      burst.refusals++;
      return false;
    }
    this.bursts.set(key, { start: this.now(), refusals: 1 });
    return true;
  }

  /** Logs the bursts that are over (the count of what was not logged one by one) and forgets them. */
  sweep(): void {
    const now = this.now();
    for (const [key, burst] of this.bursts) {
      if (now - burst.start < this.windowMs) continue;
      this.bursts.delete(key);
      this.report(key, burst);
    }
  }

  /** Stops the sweeper, logging what is left. */
  close(): void {
    clearInterval(this.sweeper);
    for (const [key, burst] of this.bursts) this.report(key, burst);
    this.bursts.clear();
  }

  private report(key: string, burst: Burst): void {
    if (burst.refusals < 2) return;
    const throttled = Math.max(0, burst.refusals - this.limit);
    this.options.log(
      `refused ${burst.refusals} requests with a wrong key or token from ${key} within ${Math.round(this.windowMs / 1000)}s ` +
        `(logged only the first; ${throttled} of them answered 429)`,
    );
  }

  private current(key: string): Burst | undefined {
    const burst = this.bursts.get(key);
    if (burst && this.now() - burst.start >= this.windowMs) {
      this.bursts.delete(key);
      this.report(key, burst);
      return undefined;
    }
    return burst;
  }

  private key(address: string): string {
    return this.bursts.has(address) || this.bursts.size < this.maxAddresses ? address : OTHERS;
  }
}

/**
 * Secrets accepted lately, kept as their sha256 (never the secret): a client past its refusals may still present one
 * of these and be looked up. Bounded: the oldest is forgotten first.
 */
export class AcceptedSecrets {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  add({ hash }: PresentedSecret): void {
    this.seen.delete(hash);
    this.seen.set(hash, this.now() + this.ttlMs);
    const [oldest] = this.seen.keys();
    if (this.seen.size > this.max && oldest !== undefined) this.seen.delete(oldest);
  }

  has({ hash }: PresentedSecret): boolean {
    const until = this.seen.get(hash);
    return until !== undefined && until > this.now();
  }
}
