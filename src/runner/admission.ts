import { adapterFor, processAdapter, supportedAdapterTypes, type AgentAdapter, type UsageLimit } from '../agents/index.js';
import { BASE64_RULE, isBase64 } from '../protocol/base64.js';
import type { JobPayload } from '../protocol/types.js';
import { describeValue } from '../protocol/values.js';
import type { ClaimOutcome } from '../streams/http/runner-api.js';
import { usageLimitMessage } from './usage-limits.js';

/** A claimed job the runner will run: its payload, the adapter that runs it, and its instructions as bytes. */
export interface AdmittedJob {
  payload: JobPayload;
  adapter: AgentAdapter;
  /** `runtimeConfig.instructionsFileContent` decoded from base64; absent when the job has none. */
  instructions?: Buffer;
}

/**
 * A refusal names, when the runner knows it, the agent CLI the job needed (`agent`, which teaches the daemon that
 * agent's CLI), and the usage limit it was refused for.
 */
export type Admission =
  | { admitted: true; job: AdmittedJob }
  | { admitted: false; errorMessage: string; agent?: string; usageLimit?: UsageLimit };

export interface AdmissionPolicy {
  /** `process` jobs name the program to run: only where the runner's owner allowed it. */
  allowProcessJobs: boolean;
  /** When the pause of an agent CLI after a usage limit ends, while one lasts (docs/usage-limits.md). */
  pausedUntil?: (agent: string) => number | undefined;
}

/**
 * Whether the runner will run a job it claimed, decided before any agent starts: its payload must be one the runner can
 * read, its adapter one the runner has (and, for `process`, one its owner allowed, and not paused by a usage limit),
 * its instructions valid base64. A refusal says what was wrong and who can fix it; the job is then failed with it (one
 * for a paused CLI as a usage limit, which a server with the extension puts back in the queue).
 */
export function admit(claim: Extract<ClaimOutcome, { kind: 'claimed' | 'malformed' }>, policy: AdmissionPolicy): Admission {
  if (claim.kind === 'malformed') {
    const requestId = claim.requestId ? ` (requestId ${claim.requestId})` : '';
    return refuse(
      `malformed job payload${requestId}, so no agent was started: ${claim.problems.join('; ')}. ` +
        "Report this to the control plane's operators.",
    );
  }
  const { payload } = claim;
  const adapter = adapterFor(payload.adapterType);
  if (!adapter) {
    return refuse(
      `adapter type ${JSON.stringify(payload.adapterType)} is not supported by this runner ` +
        `(it runs ${supportedAdapterTypes.join(', ')}); upgrade founderos-runner or change the agent's adapter`,
    );
  }
  const agent = adapter.name;
  if (adapter === processAdapter && !policy.allowProcessJobs) {
    return refuse(
      'this runner does not run process jobs, which name the program to run; ' +
        'its owner can allow them with --allow-process-jobs (or FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS=1)',
      agent,
    );
  }
  const pausedUntil = policy.pausedUntil?.(agent);
  if (pausedUntil !== undefined) {
    const usageLimit = { resetsAt: pausedUntil };
    const detail = `not started: this runner's ${agent} is paused by a usage limit it hit on an earlier job`;
    return { admitted: false, errorMessage: usageLimitMessage(usageLimit, detail), agent, usageLimit };
  }
  const encoded = payload.runtimeConfig.instructionsFileContent;
  if (encoded && !isBase64(encoded)) {
    return refuse(
      `runtimeConfig.instructionsFileContent must be ${BASE64_RULE}, as the protocol sends the instructions file ` +
        `(got ${describeValue(encoded.slice(0, 100))}), so no agent was started. Report this to the control plane's operators.`,
      agent,
    );
  }
  const instructions = encoded ? Buffer.from(encoded, 'base64') : undefined;
  return { admitted: true, job: { payload, adapter, ...(instructions && { instructions }) } };
}

function refuse(errorMessage: string, agent?: string): Admission {
  return { admitted: false, errorMessage, ...(agent && { agent }) };
}
