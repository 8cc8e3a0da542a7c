/**
 * The part of a job's events the page holds, as the server's pages (each known by the cursors around it). A
 * transcript of any size streams through: past a budget of bytes the oldest pages the reader is not looking at
 * are dropped, and only their cursors and counts are kept, so that "load earlier" can ask for exactly those
 * events again. Arrival order within a job is commit order, so a page read again after its cursor holds the same
 * events as before.
 */
import type { StoredEvent } from '../control-plane/types.js';

export interface HeldPage {
  /** The cursor the page starts after; undefined for the job's first page. */
  after: string | undefined;
  /** The cursor after its last event: where the next page starts. */
  next: string;
  count: number;
  /** The size of its events as they came over the wire. */
  bytes: number;
  /** Its events, or undefined once dropped. */
  events: StoredEvent[] | undefined;
}

export class HeldEvents {
  readonly pages: HeldPage[] = [];
  private heldBytes = 0;
  private readonly pageOf = new WeakMap<StoredEvent, number>();
  private cached: StoredEvent[] | undefined;

  /** `startAfter`: the cursor the first page starts after (undefined: the job's beginning). */
  constructor(
    readonly budgetBytes: number,
    private readonly startAfter: string | undefined = undefined,
  ) {}

  /** Where the live stream goes on from. */
  get cursor(): string | undefined {
    return this.pages.at(-1)?.next ?? this.startAfter;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** How many events the job has shown so far, held or not. */
  get total(): number {
    return this.pages.reduce((sum, page) => sum + page.count, 0);
  }

  /** How many events were dropped (they come back with `restore`). */
  get dropped(): number {
    return this.pages.reduce((sum, page) => sum + (page.events ? 0 : page.count), 0);
  }

  /** A page from the live stream, after the last one. */
  add(events: StoredEvent[], next: string, bytes: number): void {
    if (events.length === 0) return;
    this.pages.push({ after: this.cursor, next, count: events.length, bytes, events });
    this.heldBytes += bytes;
    this.index(this.pages.length - 1);
  }

  /** The held events, in order. */
  events(): StoredEvent[] {
    this.cached ??= this.pages.flatMap((page) => page.events ?? []);
    return this.cached;
  }

  /** The page an event came in. */
  pageIndexOf(event: StoredEvent): number {
    return this.pageOf.get(event) ?? -1;
  }

  /**
   * Drops the oldest held pages before page `keepFrom` while over the budget, down to three quarters of it (so
   * drops come in chunks, not at every page). Resolves to whether anything was dropped.
   */
  trim(keepFrom: number): boolean {
    if (this.heldBytes <= this.budgetBytes) return false;
    let dropped = false;
    for (const page of this.pages.slice(0, keepFrom)) {
      if (this.heldBytes <= (this.budgetBytes * 3) / 4) break;
      if (!page.events) continue;
      page.events = undefined;
      this.heldBytes -= page.bytes;
      dropped = true;
    }
    if (dropped) this.cached = undefined;
    return dropped;
  }

  /** The dropped page just before the first held one: the next to load again. */
  lastDroppedBeforeHeld(): number {
    const firstHeld = this.pages.findIndex((page) => page.events !== undefined);
    return this.pages.slice(0, firstHeld < 0 ? this.pages.length : firstHeld).findLastIndex((page) => !page.events);
  }

  /** Puts a dropped page's events back, as loaded again from the server. */
  restore(index: number, events: StoredEvent[], bytes: number): void {
    const page = this.pages[index];
    if (!page || page.events) return;
    page.events = events;
    page.bytes = bytes;
    this.heldBytes += bytes;
    this.cached = undefined;
    this.index(index);
  }

  private index(pageIndex: number): void {
    for (const event of this.pages[pageIndex]?.events ?? []) this.pageOf.set(event, pageIndex);
    this.cached = undefined;
  }
}
