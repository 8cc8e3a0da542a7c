/**
 * The admin API over HTTP (global fetch), with the same methods and results as the in-process `AdminApi`.
 * Error answers are thrown as the `ControlPlaneError` the server described (status, code, message, requestId);
 * an unreachable server is status 0, code `server_unreachable`.
 */
import { parseJsonObject } from '../protocol/values.js';
import { ControlPlaneError } from './errors.js';
import { ADMIN_API_PREFIX } from './routes-admin.js';
import type {
  AdminApi,
  CreatedToken,
  CreateTokenInput,
  EnqueueJobInput,
  EventPage,
  JobDetail,
  JobRecord,
  ListEventsOptions,
  ListJobsFilter,
  ListTokensFilter,
  RotatedToken,
  RotateTokenInput,
  TokenInfo,
} from './types.js';

export interface AdminClientOptions {
  serverUrl: string;
  adminKey: string;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

export class AdminClient implements AdminApi {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: AdminClientOptions) {
    this.baseUrl = options.serverUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  createToken(input: CreateTokenInput): Promise<CreatedToken> {
    return this.request('POST', '/tokens', { body: input });
  }

  async listTokens(filter: ListTokensFilter = {}): Promise<TokenInfo[]> {
    const query = { companyId: filter.companyId, includeRevoked: filter.includeRevoked || undefined };
    return (await this.request<{ tokens: TokenInfo[] }>('GET', '/tokens', { query })).tokens;
  }

  revokeToken(tokenId: string): Promise<TokenInfo> {
    return this.request('POST', `/tokens/${encodeURIComponent(tokenId)}/revoke`);
  }

  rotateToken({ tokenId, ...body }: RotateTokenInput): Promise<RotatedToken> {
    return this.request('POST', `/tokens/${encodeURIComponent(tokenId)}/rotate`, { body });
  }

  enqueueJob(input: EnqueueJobInput): Promise<JobRecord> {
    return this.request('POST', '/jobs', { body: input });
  }

  async listJobs(filter: ListJobsFilter = {}): Promise<JobRecord[]> {
    return (await this.request<{ jobs: JobRecord[] }>('GET', '/jobs', { query: { ...filter } })).jobs;
  }

  getJob(jobId: string): Promise<JobDetail> {
    return this.request('GET', `/jobs/${encodeURIComponent(jobId)}`);
  }

  /** The server says who cancelled (the admin API): `by` is for in-process callers. */
  cancelJob(jobId: string): Promise<JobRecord> {
    return this.request('POST', `/jobs/${encodeURIComponent(jobId)}/cancel`);
  }

  listEvents(jobId: string, options: ListEventsOptions = {}): Promise<EventPage> {
    const { signal, ...query } = options;
    return this.request('GET', `/jobs/${encodeURIComponent(jobId)}/events`, { query, signal });
  }

  private async request<T>(method: string, path: string, init: { body?: unknown; query?: Query; signal?: AbortSignal } = {}): Promise<T> {
    const url = new URL(`${this.baseUrl}${ADMIN_API_PREFIX}${path}`);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.adminKey}`, accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ControlPlaneError(
        0,
        'server_unreachable',
        `Cannot reach the control plane at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}). ` +
          'Start it with "founderos-runner server", or pass --server-url / set FOUNDEROS_SERVER_URL.',
      );
    }
    const text = await res.text();
    const requestId = res.headers.get('x-request-id') ?? undefined;
    if (!res.ok) {
      // Not our server, or a proxy's error page (or a body of `null`): report the status.
      const body = (parseJsonObject(text) ?? {}) as { error?: string; message?: string };
      throw new ControlPlaneError(
        res.status,
        body.error ?? `http_${res.status}`,
        body.message ??
          `The server answered ${res.status} ${res.statusText} to ${method} ${url.pathname}; is --server-url a founderos control plane?`,
        requestId,
      );
    }
    return JSON.parse(text) as T;
  }
}
