import { map, of, type Observable } from 'rxjs';
import { recoverUnless } from '../operators/recoverUnless.js';
import { retryBackoff } from '../operators/retryBackoff.js';
import type { CompletionBody } from '../protocol/types.js';
import { quarantineSpool } from '../streams/spool.js';
import { errorText } from './error-text.js';
import { isFatal } from './fatal.js';
import type { DeliveryDeps } from './delivery.js';
import type { JobResult } from './run-job.js';

/**
 * What recovery does with a leftover it could not deliver (a damaged spool, an answer it did not expect, a bug): the
 * leftover is quarantined, so that no later start tries it again, and its job is reported failed. A leftover can fail
 * its job; it can never stop the runner, nor every start after it.
 */

/** Moves a leftover out of the way of every later start, saying where to; returns that place (or the old one, if it cannot move). */
export function quarantineLeftover(path: string, jobId: string | undefined, error: unknown, deps: DeliveryDeps): string {
  let keptAt = path;
  try {
    keptAt = quarantineSpool(path);
  } catch (moveError) {
    deps.log.error(`could not move ${path} to quarantine (${errorText(moveError)}); remove it by hand, or the next start tries it again`);
  }
  deps.log.error(
    'could not recover what a previous run left of a job; its spool was quarantined and the runner goes on. Please report this with the file',
    {
      ...(jobId !== undefined && { jobId }),
      error: errorText(error),
      spool: keptAt,
    },
  );
  return keptAt;
}

/** Tells the server, once and briefly, that a job whose leftover was quarantined has failed; the runner goes on either way. */
export function failQuarantinedJob(jobId: string, error: unknown, keptAt: string, deps: DeliveryDeps): Observable<JobResult> {
  const completion: CompletionBody = {
    status: 'failed',
    exitCode: -1,
    signal: null,
    errorMessage:
      `the runner restarted and could not recover this job (${errorText(error)}); ` +
      `what it had not delivered is kept on the runner's machine in ${keptAt}`,
  };
  return deps.api.complete(jobId, completion).pipe(
    retryBackoff({ ...deps.retry, maxAttempts: 3, scheduler: deps.scheduler }),
    recoverUnless(isFatal, (completeError) => {
      deps.log.warn('could not report the quarantined job as failed; the server will time it out', {
        jobId,
        error: errorText(completeError),
      });
      return of(undefined);
    }),
    map((): JobResult => ({ jobId, outcome: 'failed', exitCode: -1, eventsSent: 0, errorMessage: completion.errorMessage })),
  );
}
