import { readFileSync } from 'node:fs';

/** A line of /proc/<pid>/status in MB (its values are in kB); 0 once the process has exited, or where there is no /proc. */
function statusMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** What a process holds now (VmRSS), in MB. */
export function rssMb(pid: number | undefined): number {
  return statusMb(pid, 'VmRSS');
}

/** The most memory a process has held so far (VmHWM), in whole MB. */
export function peakRssMb(pid: number | undefined): number {
  return Math.round(statusMb(pid, 'VmHWM'));
}
