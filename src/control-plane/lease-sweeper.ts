/**
 * Ends jobs whose runner went silent: a claimed or streaming job whose lease has run out is failed with
 * "runner lost", or put back in the queue, as configured. The lease rule is `extendedLease` in
 * store/runner-jobs.ts: one lease past the last heartbeat or event batch once the runner has sent a heartbeat;
 * before that (a Part-1 runner) the Part-1 job limit counted from queueing. Every server on a database sweeps;
 * the sweep is one UPDATE, so two servers never process a job twice.
 */
import type { RunnerJobStore } from './store/runner-jobs.js';
import type { LeaseExpiryAction } from './types.js';

export interface LeaseSweeper {
  stop(): Promise<void>;
}

/** About a quarter of the lease, so a job is ended at most ~1.25 leases after its deadline's lease began. */
export function sweepIntervalMs(leaseMs: number): number {
  return Math.min(15_000, Math.max(20, Math.round(leaseMs / 4)));
}

export function startLeaseSweeper(options: {
  jobs: RunnerJobStore;
  leaseMs: number;
  onLeaseExpiry: LeaseExpiryAction;
  log: (line: string) => void;
}): LeaseSweeper {
  const { jobs, leaseMs, onLeaseExpiry, log } = options;
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      const ids = await jobs.expireLeases(onLeaseExpiry);
      for (const id of ids) {
        log(
          `job ${id}: its lease ran out (no heartbeat or event in time: runner lost); ${onLeaseExpiry === 'fail' ? 'failed' : 'requeued'}`,
        );
      }
    } catch (err) {
      log(`lease sweep failed (will retry): ${(err as Error).message}`);
    }
  };
  const timer = setInterval(() => {
    running ??= sweep().finally(() => (running = undefined)); // never two sweeps at once
  }, sweepIntervalMs(leaseMs));
  // The sweeper must not keep a process alive on its own (close() stops it; a demo may just exit).
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
