/** The exit codes of every command, documented in the README so that service managers can act on them. */
export const EXIT = {
  ok: 0,
  failure: 1,
  /** Bad flags, variables or config file: running again unchanged will fail the same way. */
  config: 2,
  /** The server refused the token (401): restarting will not help until the token is replaced. */
  tokenRejected: 3,
  forced: 130,
} as const;
