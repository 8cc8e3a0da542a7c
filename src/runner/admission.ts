import { adapterFor, processAdapter, supportedAdapterTypes, type AgentAdapter } from '../agents/index.js';
import { BASE64_RULE, isBase64 } from '../protocol/base64.js';
import type { JobPayload } from '../protocol/types.js';
import { describeValue } from '../protocol/values.js';
import type { ClaimOutcome } from '../streams/http/runner-api.js';

/** A claimed job the runner will run: its payload, the adapter that runs it, and its instructions as bytes. */
export interface AdmittedJob {
  payload: JobPayload;
  adapter: AgentAdapter;
  /** `runtimeConfig.instructionsFileContent` decoded from base64; absent when the job has none. */
  instructions?: Buffer;
}

export type Admission = { admitted: true; job: AdmittedJob } | { admitted: false; errorMessage: string };

export interface AdmissionPolicy {
  /** `process` jobs name the program to run: only where the runner's owner allowed it. */
  allowProcessJobs: boolean;
}

/**
 * Whether the runner will run a job it claimed, decided before any agent starts: its payload must be one the runner can
 * read, its adapter one the runner has (and, for `process`, one its owner allowed), its instructions valid base64. A
 * refusal says what was wrong and who can fix it; the job is then failed with it.
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
  if (adapter === processAdapter && !policy.allowProcessJobs) {
    return refuse(
      'this runner does not run process jobs, which name the program to run; ' +
        'its owner can allow them with --allow-process-jobs (or FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS=1)',
    );
  }
  const encoded = payload.runtimeConfig.instructionsFileContent;
  if (encoded && !isBase64(encoded)) {
    return refuse(
      `runtimeConfig.instructionsFileContent must be ${BASE64_RULE}, as the protocol sends the instructions file ` +
        `(got ${describeValue(encoded.slice(0, 100))}), so no agent was started. Report this to the control plane's operators.`,
    );
  }
  const instructions = encoded ? Buffer.from(encoded, 'base64') : undefined;
  return { admitted: true, job: { payload, adapter, ...(instructions && { instructions }) } };
}

function refuse(errorMessage: string): Admission {
  return { admitted: false, errorMessage };
}
