import type { JobStatus } from '../../control-plane/types.js';

export const RUNNING: readonly JobStatus[] = ['claimed', 'streaming'];
export const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export function StatusBadge({ status }: { status: JobStatus }) {
  return <span class={`badge s-${status}`} data-status={status}>{status}</span>;
}
