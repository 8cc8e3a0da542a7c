/**
 * Runners authenticated lately, by their token's sha256, so that a runner's requests (a job cycle is four or five)
 * cost no token lookup. An entry is dropped when its token changes (revoked, expiry moved: the database names the
 * token on a channel, and this server's own revocations drop it at once), when it expires, and in any case after
 * `maxAgeMs`, the bound on trusting it if a notification were ever lost unseen. The cache holds at most
 * `maxEntries` tokens, the oldest dropped first, and only tokens that were good: an unknown one is looked up each time.
 */
import type { RunnerIdentity } from './tokens.js';

interface Entry {
  runner: RunnerIdentity;
  cachedAt: number;
}

export class AuthCache {
  /** Token hash → entry, oldest first. */
  private readonly byHash = new Map<string, Entry>();
  private readonly hashById = new Map<string, string>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  /** The runner for a token hash, if it was good at most `maxAgeMs` ago and has not expired since. */
  get(hash: string, now: number): RunnerIdentity | undefined {
    const entry = this.byHash.get(hash);
    if (!entry) return undefined;
    if (now - entry.cachedAt < this.maxAgeMs && now < entry.runner.validUntil) return entry.runner;
    this.drop(hash, entry.runner.tokenId);
    return undefined;
  }

  set(hash: string, runner: RunnerIdentity, now: number): void {
    this.forget(runner.tokenId);
    this.byHash.set(hash, { runner, cachedAt: now });
    this.hashById.set(runner.tokenId, hash);
    for (const [oldest, entry] of this.byHash) {
      if (this.byHash.size <= this.maxEntries) break;
      this.drop(oldest, entry.runner.tokenId);
    }
  }

  forget(tokenId: string): void {
    const hash = this.hashById.get(tokenId);
    if (hash !== undefined) this.drop(hash, tokenId);
  }

  clear(): void {
    this.byHash.clear();
    this.hashById.clear();
  }

  get size(): number {
    return this.byHash.size;
  }

  private drop(hash: string, tokenId: string): void {
    this.byHash.delete(hash);
    this.hashById.delete(tokenId);
  }
}
