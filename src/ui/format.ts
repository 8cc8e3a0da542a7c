/** How numbers and times read on the dashboard. */
export function formatCost(micros: number | null | undefined): string {
  if (micros === null || micros === undefined) return '—';
  return `$${(micros / 1_000_000).toFixed(micros < 10_000 ? 4 : 2)}`;
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return '—';
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

/** "3 min ago" for a last-seen time. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const sec = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (sec < 60) return `${Math.round(sec)} s ago`;
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return `${Math.round(sec / 86400)} d ago`;
}

/** A job's run time: reported when done, else counted from its claim while it runs. */
export function runSeconds(
  job: { elapsedSec: number | null; claimedAt: string | null; completedAt: string | null },
  now = Date.now(),
): number | null {
  if (job.elapsedSec !== null) return job.elapsedSec;
  if (job.claimedAt === null) return null;
  return ((job.completedAt ? Date.parse(job.completedAt) : now) - Date.parse(job.claimedAt)) / 1000;
}
