/** ISO-8601 date-time with an explicit offset, as the protocol requires (`2025-01-02T03:04:05.678Z`). */
const ISO_TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * An ISO-8601 time with an offset that names a real instant. `Date.parse` accepts 30 February and 24:00 (rolling
 * them over), PostgreSQL refuses them: check the calendar here so such a value is refused by its check, not by a
 * database error.
 */
export function isIsoTimestamp(value: unknown): value is string {
  const m = typeof value === 'string' ? ISO_TIMESTAMP_PATTERN.exec(value) : null;
  if (!m) return false;
  // Read field by field, not through an array of numbers: every events batch checks one per event.
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const daysInMonth = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
  return (
    year >= 1 &&
    daysInMonth !== undefined &&
    day >= 1 &&
    day <= daysInMonth &&
    Number(m[4]) <= 23 &&
    Number(m[5]) <= 59 &&
    Number(m[6]) <= 59 &&
    Number(m[7] ?? 0) <= 15 &&
    Number(m[8] ?? 0) <= 59
  );
}
