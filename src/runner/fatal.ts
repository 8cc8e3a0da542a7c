import { TokenRejectedError } from '../streams/http/errors.js';

/** The one error the runner never recovers from: a rejected token stops the daemon, whatever it was doing. */
export function isFatal(error: unknown): error is TokenRejectedError {
  return error instanceof TokenRejectedError;
}
