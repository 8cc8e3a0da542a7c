import { VirtualTimeScheduler } from 'rxjs';

/**
 * A virtual clock for specs where a real child process runs: the child's own time is real, but the timers of
 * the code under test (grace periods, safety reads, checks) move only when the spec moves this clock.
 */
export class VirtualClock extends VirtualTimeScheduler {
  /** Moves the clock `ms` forward, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.frame + ms;
    this.maxFrames = target;
    this.flush();
    this.frame = target;
  }

  /**
   * Runs the clock `stepMs` forward every `everyMs` of real time (50 times faster than real time by default) until
   * the returned function is called: for the parts of a spec that wait on the child and on timers in turn.
   */
  run(stepMs = 50, everyMs = 1): () => void {
    const ticking = setInterval(() => this.advance(stepMs), everyMs);
    return () => clearInterval(ticking);
  }
}
