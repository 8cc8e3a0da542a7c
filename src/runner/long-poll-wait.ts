/**
 * How long the runner asks its server to hold a long-poll (Part 2, `Prefer: wait`; docs/protocol.md).
 *
 * It asks for the protocol's 30 s until the server shows that it knows the preference (`Preference-Applied` on an
 * answer): a server that does not is never waited on longer than before, so a hung one is still noticed within
 * the long-poll's usual deadline. From then on it asks for `preferredSec`. A poll that asked for more than 30 s and
 * failed after it was held a while (not refused at once, as by a server that is down) tells of something on the path
 * that ends long waits (a proxy's read timeout, nginx's 60 s by default): the runner goes back to 30 s for the rest
 * of its run, and says so once. A false alarm (a server killed mid-poll) costs only polls as frequent as before.
 */
import { PROTOCOL_WAIT_SEC } from '../protocol/prefer-wait.js';

/** What a runner asks for once its server applies waits: ten thousand waiting runners poll ten times less often. */
export const DEFAULT_LONG_POLL_WAIT_SEC = 300;

/** A poll failed sooner than this was refused, not cut short: the server is down or busy, the path is not to blame. */
const HELD_MS = 5_000;

export class LongPollWait {
  private applied = false;
  private cutShort = false;

  constructor(
    private readonly preferredSec: number,
    /** Told once, when a long wait failed and the runner goes back to 30 s. */
    private readonly onCutShort: (askedSec: number, failedAfterSec: number) => void,
  ) {}

  /** The wait to ask for on the next poll. */
  get askSec(): number {
    return this.applied && !this.cutShort ? Math.max(PROTOCOL_WAIT_SEC, this.preferredSec) : PROTOCOL_WAIT_SEC;
  }

  /** A poll was answered; `appliedSec` is the wait its server said it applied, if it said. */
  answered(appliedSec: number | undefined): void {
    this.applied = appliedSec !== undefined;
  }

  /** A poll that asked for `askedSec` failed after `elapsedMs`. */
  failed(askedSec: number, elapsedMs: number): void {
    if (this.cutShort || askedSec <= PROTOCOL_WAIT_SEC || elapsedMs < HELD_MS) return;
    this.cutShort = true;
    this.onCutShort(askedSec, Math.round(elapsedMs / 1000));
  }
}
