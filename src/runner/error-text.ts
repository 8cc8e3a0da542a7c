/**
 * An error as one line: its message and, when the message does not say it, the error beneath it. fetch says only
 * "fetch failed": the ECONNREFUSED, ENOTFOUND or "bad port" under it is what tells the user what to fix.
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { cause } = error;
  if (!(cause instanceof Error)) return error.message;
  const code = (cause as NodeJS.ErrnoException).code;
  const said = code ? error.message.includes(code) : error.message.includes(cause.message);
  return said ? error.message : `${error.message}: ${causeText(cause)}`;
}

/** What caused an error, as text: a system error's code, then its message when that says more (an AggregateError's is empty). */
export function causeText(cause: Error): string {
  const code = (cause as NodeJS.ErrnoException).code;
  return code && !cause.message.includes(code) ? `${code}${cause.message ? ` (${cause.message})` : ''}` : cause.message;
}
