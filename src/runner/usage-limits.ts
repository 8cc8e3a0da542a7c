/**
 * A wait, as a person reads it: "45 s", "12 min", "3 h 12 min", "2 d 4 h" (rounded up: a pause is never shorter
 * than it reads).
 */
export function describeWait(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** When a pause ends, for a log line or doctor: `2026-12-07T15:00:00.000Z (in 3 h 12 min)`. */
export function pauseEndText(until: number, now: number): string {
  return `${new Date(until).toISOString()} (in ${describeWait(until - now)})`;
}
