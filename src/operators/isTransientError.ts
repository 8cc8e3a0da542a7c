/**
 * Whether an error is worth retrying: a failure of the network or of an overloaded server, not of
 * the request itself.
 *
 * The HTTP status is read from `error.status` or `error.response.status` (ky's `HTTPError`), and
 * only when it is a number:
 * - 408, 425, 429 and every status ≥ 500 → `true`;
 * - any other status (400, 401, 403, 404, 409, …) → `false`: sending the same request again gives
 *   the same answer;
 * - no status at all (connection reset, DNS failure, timeout) → `true`;
 * - an error named `'AbortError'` → `false`: somebody cancelled on purpose.
 *
 * Anything without a status counts as transient, programming errors included; pass a stricter
 * `shouldRetry` where that matters.
 */
export function isTransientError(error: unknown): boolean {
  if (!isRecord(error)) return true;
  if (error.name === 'AbortError') return false;
  const status = httpStatus(error);
  if (status === undefined) return true;
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

function httpStatus(error: Record<string, unknown>): number | undefined {
  if (typeof error.status === 'number') return error.status;
  const response = error.response;
  if (isRecord(response) && typeof response.status === 'number') return response.status;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
