/** How numbers and times read on the dashboard. */

/**
 * Dollars with cents, the same way everywhere ("$0.00", "$0.09", "$12.40"); a cost under a cent says so
 * ("<$0.01") rather than showing four decimals beside two.
 */
export function formatCost(micros: number | null | undefined): string {
  if (micros === null || micros === undefined) return '—';
  if (micros > 0 && micros < 10_000) return '<$0.01';
  return `$${(micros / 1_000_000).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** The exact cost, for a tooltip. */
export function exactCost(micros: number | null | undefined): string | undefined {
  return micros === null || micros === undefined ? undefined : `$${(micros / 1_000_000).toFixed(6)}`;
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '—';
  const s = Math.max(0, sec);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A step's duration: milliseconds below a second. */
export function formatDurationMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : formatDuration(ms / 1000);
}

/** The time of day, or the date and time when it was not today. */
export function formatTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date(now).toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

// Formatters are made once: making one per call (toLocaleString with options does) costs more than the formatting.
const ABSOLUTE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** The full date and time, for a tooltip beside a relative time. */
export function formatAbsolute(iso: string | null | undefined): string {
  return iso ? ABSOLUTE.format(new Date(iso)) : '';
}

function roughly(sec: number): string {
  if (sec < 60) return `${Math.floor(sec)} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h`;
  const days = Math.floor(sec / 86400);
  return `${days} day${days === 1 ? '' : 's'}`;
}

/** "3 min ago"; "just now" for the last few seconds (clocks of browser and server differ a little). */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const sec = (now - Date.parse(iso)) / 1000;
  return sec < 5 ? 'just now' : `${roughly(sec)} ago`;
}

/** "in 87 days", or "3 h ago" once it has passed. */
export function formatUntil(iso: string, now = Date.now()): string {
  const sec = (Date.parse(iso) - now) / 1000;
  return sec <= 0 ? formatAgo(iso, now) : `in ${roughly(sec)}`;
}

/** Time since the job started, as a log shows it: "+0:05", "+12:40", "+1:02:03". */
export function formatOffset(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `+${h}:${String(m).padStart(2, '0')}:${s}` : `+${m}:${s}`;
}

/** A clock time to the second, the same width on every row. */
export function formatClock(iso: string): string {
  return CLOCK.format(new Date(iso));
}

/**
 * A job's run time: reported when done, else counted from its claim while it runs; never negative (the
 * browser's clock may be a little behind the server's).
 */
export function runSeconds(
  job: { elapsedSec: number | null; claimedAt: string | null; completedAt: string | null },
  now = Date.now(),
): number | null {
  if (job.elapsedSec !== null) return job.elapsedSec;
  if (job.claimedAt === null) return null;
  return Math.max(0, ((job.completedAt ? Date.parse(job.completedAt) : now) - Date.parse(job.claimedAt)) / 1000);
}

/** "1 job", "5,000 jobs". */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** The first line of a message, cut to a length a table cell holds. */
export function firstLine(text: string | null | undefined, max = 160): string {
  const line = (text ?? '').replace(/\n.*/s, '').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
