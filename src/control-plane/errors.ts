/**
 * One error type for every failure the control plane reports on purpose. It carries the HTTP status and the
 * wire error code, so the HTTP layer maps it 1:1, and the in-process admin API throws exactly what the HTTP
 * admin API would answer.
 */
export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Set when the error came back from a server (AdminClient), so it can be quoted. */
    readonly requestId?: string,
    /** More fields of the error body, beside error, message and requestId (e.g. `expiredAt`). */
    readonly details?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export function invalidRequest(message: string): ControlPlaneError {
  return new ControlPlaneError(400, 'invalid_request', message);
}

export function jobNotFound(jobId: string): ControlPlaneError {
  return new ControlPlaneError(
    404,
    'job_not_found',
    `No job ${jobId} here (unknown, cancelled, or not this token's company). Go back to polling for work.`,
  );
}

/** A refusal that a client should retry later: answered with `retry-after`. */
export class RetryLaterError extends ControlPlaneError {
  constructor(
    status: 429 | 503,
    code: string,
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(status, code, message);
  }
}
