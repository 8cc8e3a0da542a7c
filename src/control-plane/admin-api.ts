/**
 * The admin API, in-process. The HTTP admin routes are a thin layer over this object, so the two have one
 * implementation: the same validation, the same results, the same errors.
 */
import { ControlPlaneError } from './errors.js';
import { jobTopic, longPoll, type WakeHub } from './long-poll.js';
import type { AdminJobStore } from './store/admin-jobs.js';
import type { TokenStore } from './store/tokens.js';
import {
  TERMINAL_STATUSES,
  type AdminApi,
  type CreatedToken,
  type EventPage,
  type JobDetail,
  type JobRecord,
  type ListEventsOptions,
  type RotatedToken,
  type TokenInfo,
} from './types.js';
import {
  intInRange,
  parseCreateTokenInput,
  parseEnqueueInput,
  parseEventCursor,
  parseJobId,
  parseListJobsFilter,
  parseListTokensFilter,
  parseRotateTokenInput,
  parseTokenId,
} from './validation.js';

export const MAX_EVENTS_WAIT_MS = 60_000;
/**
 * The most event payload one page holds (always at least one event, however large): an answer stays a few MiB
 * whatever the transcript, and a reader pages through the rest with the cursor.
 */
export const EVENT_PAGE_BYTES = 4 * 1024 * 1024;

/** Who cancelled a job, when the admin API did: the one name a job gives for any caller with the admin key. */
export const ADMIN_API = 'the admin API';

export interface AdminApiDeps {
  tokens: TokenStore;
  jobs: AdminJobStore;
  hub: WakeHub;
  /** Aborted when the control plane closes, ending waiting calls. */
  closing: AbortSignal;
  recheckMs?: number;
}

function tokenNotFound(tokenId: string): ControlPlaneError {
  return new ControlPlaneError(404, 'token_not_found', `No token ${tokenId}. List tokens with "founderos-runner admin tokens list --all".`);
}

function adminJobNotFound(jobId: string): ControlPlaneError {
  return new ControlPlaneError(404, 'job_not_found', `No job ${jobId}. List jobs with "founderos-runner admin jobs list".`);
}

/** What the store found (or changed) under an id, or the 404 that names the id when it found nothing. */
async function lookUp<T>(
  id: string,
  find: (id: string) => Promise<T | undefined>,
  notFound: (id: string) => ControlPlaneError,
): Promise<T> {
  const found = await find(id);
  if (found === undefined) throw notFound(id);
  return found;
}

export function createAdminApi({ tokens, jobs, hub, closing, recheckMs }: AdminApiDeps): AdminApi {
  return {
    async createToken(input): Promise<CreatedToken> {
      const { companyId, name, ttlSec } = parseCreateTokenInput(input);
      return tokens.createToken(companyId, name, ttlSec);
    },

    async listTokens(filter): Promise<TokenInfo[]> {
      return tokens.listTokens(parseListTokensFilter(filter));
    },

    async revokeToken(tokenId): Promise<TokenInfo> {
      return lookUp(parseTokenId(tokenId), (id) => tokens.revokeToken(id), tokenNotFound);
    },

    async rotateToken(input): Promise<RotatedToken> {
      const { tokenId, ...options } = parseRotateTokenInput(input);
      const outcome = await tokens.rotateToken(tokenId, options);
      if (outcome.kind === 'not_found') throw tokenNotFound(tokenId);
      if (outcome.kind === 'revoked') {
        throw new ControlPlaneError(
          409,
          'token_revoked',
          `Token ${tokenId} (${outcome.token.preview}…) was revoked at ${outcome.token.revokedAt}; a revoked token is not rotated, ` +
            'since its replacement would let in whoever it was revoked against. Create a new one with "founderos-runner admin tokens create".',
        );
      }
      return outcome.rotated;
    },

    async enqueueJob(input): Promise<JobRecord> {
      return jobs.enqueueJob(parseEnqueueInput(input));
    },

    async listJobs(filter): Promise<JobRecord[]> {
      return jobs.listJobs(parseListJobsFilter(filter));
    },

    async getJob(jobId): Promise<JobDetail> {
      return lookUp(parseJobId(jobId), (id) => jobs.getJob(id), adminJobNotFound);
    },

    async cancelJob(jobId, by = ADMIN_API): Promise<JobRecord> {
      const id = parseJobId(jobId);
      const outcome = await jobs.cancelJob(id, by);
      if (outcome.kind === 'not_found') throw adminJobNotFound(id);
      if (outcome.kind === 'terminal') {
        throw new ControlPlaneError(409, 'job_already_terminal', `Job ${id} is already ${outcome.job.status}; there is nothing to cancel.`);
      }
      return outcome.job;
    },

    async listEvents(jobId, options: ListEventsOptions = {}): Promise<EventPage> {
      const id = parseJobId(jobId);
      const after = parseEventCursor(options.after);
      const waitMs = intInRange(options.waitMs, 'waitMs', 0, MAX_EVENTS_WAIT_MS, 0);
      const limit = intInRange(options.limit, 'limit', 1, 5000, 1000);
      const read = async (): Promise<EventPage> => {
        // Status first: if it says terminal, no event can arrive after the page read below.
        const jobStatus = await jobs.jobStatus(id);
        if (!jobStatus) throw adminJobNotFound(id);
        return { ...(await jobs.listEvents(id, after, limit, EVENT_PAGE_BYTES)), jobStatus };
      };
      const signal = options.signal ? AbortSignal.any([options.signal, closing]) : closing;
      const page = await longPoll({
        hub,
        topic: jobTopic(id),
        waitMs,
        recheckMs,
        signal,
        check: async () => {
          const page = await read();
          return page.events.length > 0 || TERMINAL_STATUSES.includes(page.jobStatus) ? page : undefined;
        },
      });
      return page ?? read();
    },
  };
}
