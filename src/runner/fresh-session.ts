import { concatMap, connect, filter, merge, type Observable } from 'rxjs';
import type { AgentAdapter } from '../agents/index.js';
import type { JobPayload } from '../protocol/types.js';
import { runVerdict, type AgentRunOutput } from './agent-run.js';
import type { Logger } from './logger.js';

export interface FreshSessionOptions {
  adapter: AgentAdapter;
  bin: string;
  limitSec: number;
  log: Logger;
}

/**
 * The runs of a job's agent: one, or, when the job resumes a session that the CLI no longer knows (it fails at once,
 * saying so), a second one in a fresh session. Only the first run's end (its last value) is so replaced, and the fresh
 * run follows it.
 */
export function withFreshSessionRetry(
  run: (payload: JobPayload) => Observable<AgentRunOutput>,
  payload: JobPayload,
  options: FreshSessionOptions,
): Observable<AgentRunOutput> {
  const { adapter, bin, limitSec, log } = options;
  const needsFreshRun = (output: AgentRunOutput): boolean =>
    output.type === 'ended' &&
    Boolean(payload.sessionId) &&
    !output.run.stopReason &&
    output.run.startError === undefined &&
    runVerdict(output.run, adapter, bin, limitSec).status === 'failed' &&
    adapter.isUnknownSession?.(output.run.report, output.run.stderrTail) === true;
  return run(payload).pipe(
    connect((first$) =>
      merge(
        first$.pipe(filter((output) => !needsFreshRun(output))),
        first$.pipe(
          filter(needsFreshRun),
          concatMap(() => {
            log.warn('the agent does not know the session to resume; running again in a fresh session', {
              jobId: payload.jobId,
              sessionId: payload.sessionId,
            });
            return run({ ...payload, sessionId: null });
          }),
        ),
      ),
    ),
  );
}
