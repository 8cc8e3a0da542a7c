/**
 * Which keys are due a touch (a token's `last_used_at`, written at most once per interval, not on every request).
 * It remembers only the keys touched within the last interval: an older entry would allow a touch anyway, so
 * forgetting it changes no answer, and the memory stays bounded by the keys used in one interval however many
 * come and go over a server's life.
 */
export class TouchThrottle {
  /** Key → when it was last touched, oldest first (a touched key moves to the end). */
  private readonly touchedAt = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Whether `key` is due a touch at `now` (ms); if it is, the touch is recorded. */
  due(key: string, now: number): boolean {
    this.forgetBefore(now - this.intervalMs);
    if (this.touchedAt.has(key)) return false;
    this.touchedAt.set(key, now);
    return true;
  }

  /** How many keys it remembers. */
  get size(): number {
    return this.touchedAt.size;
  }

  /** Drops the touches at or before `cutoff`: the map is in touch order, so it stops at the first newer one. */
  private forgetBefore(cutoff: number): void {
    for (const [key, at] of this.touchedAt) {
      if (at > cutoff) return;
      this.touchedAt.delete(key);
    }
  }
}
