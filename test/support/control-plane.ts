import {
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  type EnqueueJobInput,
  type JobDetail,
  type StoredEvent,
} from '../../src/control-plane/index.js';
import { until } from './runner-process.js';
import { storedEvents } from './store-checks.js';

export const COMPANY = 'acme';

/** Instructions as the protocol carries them: base64 (`runtimeConfig.instructionsFileContent` of a claimed job). */
export const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
export const TERMINAL = ['completed', 'failed', 'cancelled'];

/** A real reference control plane on a free loopback port (PGlite in memory), with one runner token. */
export async function startTestControlPlane(options: ControlPlaneOptions = {}) {
  const controlPlane: ControlPlane = await startControlPlane({ longPollMs: 5_000, ...options });
  const { admin } = controlPlane;
  const { token } = await admin.createToken({ companyId: COMPANY, name: 'e2e runner' });

  return {
    controlPlane,
    admin,
    token,
    url: controlPlane.url,
    /** Queues a job for the fake agent; `behaviour` becomes its prompt and picks what it does. */
    enqueue: (behaviour: Record<string, unknown>, extra: Partial<EnqueueJobInput> = {}) =>
      admin.enqueueJob({ companyId: COMPANY, agentName: 'Fake', prompt: JSON.stringify(behaviour), ...extra }),
    async waitForJob(jobId: string, statuses: readonly string[] = TERMINAL, timeoutMs = 20_000): Promise<JobDetail> {
      let job = await admin.getJob(jobId);
      await until(
        async () => statuses.includes((job = await admin.getJob(jobId)).status),
        timeoutMs,
        () => `job ${jobId} is ${job.status}, not ${statuses.join('|')}`,
      );
      return job;
    },
    events: (jobId: string): Promise<StoredEvent[]> => storedEvents(admin, jobId),
    close: () => controlPlane.close(),
  };
}

export type TestControlPlane = Awaited<ReturnType<typeof startTestControlPlane>>;
