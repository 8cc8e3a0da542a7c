import { TERMINAL_STATUSES, type JobStatus } from '../../control-plane/types.js';

/** A runner has the job: the states "stop all running" and the live run time are about. */
export const RUNNING: readonly JobStatus[] = ['claimed', 'streaming'];
export const TERMINAL = TERMINAL_STATUSES;

export function StatusBadge({ status }: { status: JobStatus }) {
  return (
    <span class={`badge s-${status}`} data-status={status}>
      {status}
    </span>
  );
}
