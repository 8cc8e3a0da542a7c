/**
 * Test helpers: backends (PGlite in memory; a fresh PostgreSQL database per suite), a raw runner client over
 * real HTTP, and small utilities. No mocks: everything talks to a real server over 127.0.0.1.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import type { RunnerEvent } from '../../src/protocol/types.js';
import { runServerCommand } from '../../src/cli/server.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/control-plane/index.js';

export const TEST_DATABASE_URL = process.env.FOUNDEROS_TEST_DATABASE_URL;

/** Where a suite's control planes keep their data. */
export interface Backend {
  name: string;
  /** Options for one more control plane on this backend's database (all planes of a backend share it). */
  options(): ControlPlaneOptions;
  dispose(): Promise<void>;
}

export async function pgliteBackend(): Promise<Backend> {
  return { name: 'pglite', options: () => ({}), dispose: async () => {} };
}

/** A database created for this suite alone, dropped afterwards, so runs never see each other's rows or NOTIFYs. */
export async function postgresBackend(baseUrl: string): Promise<Backend> {
  const name = `founderos_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    name: 'postgres',
    options: () => ({ databaseUrl: url.toString() }),
    dispose: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export function startPlane(backend: Backend, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return startControlPlane({ ...backend.options(), ...options });
}

export interface RawResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** The runner side of the protocol, unvarnished: status, parsed body, headers. */
export class RunnerHttp {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  async raw(
    method: string,
    path: string,
    options: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<RawResponse> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...options.headers },
      body: options.body,
      signal: options.signal,
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  }

  next(signal?: AbortSignal) {
    return this.raw('GET', '/api/runner/jobs/next', { signal });
  }
  claim(jobId: string) {
    return this.raw('POST', `/api/runner/jobs/${jobId}/claim`);
  }
  events(jobId: string, events: unknown[]) {
    return this.raw('POST', `/api/runner/jobs/${jobId}/events`, { body: JSON.stringify({ events }) });
  }
  complete(jobId: string, body: unknown) {
    return this.raw('POST', `/api/runner/jobs/${jobId}/complete`, { body: JSON.stringify(body) });
  }
  heartbeat(jobId: string) {
    return this.raw('POST', `/api/runner/jobs/${jobId}/heartbeat`);
  }
}

export function event(overrides: Partial<RunnerEvent> = {}): RunnerEvent {
  return { eventId: randomUUID(), kind: 'stdout_line', ts: new Date().toISOString(), payload: 'a line', ...overrides };
}

/** A fresh company id, so tests sharing a server never see each other's jobs. */
export function company(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A runner for a company: a token from the admin API and a client using it. */
export async function runnerFor(plane: ControlPlane, companyId: string): Promise<RunnerHttp> {
  const { token } = await plane.admin.createToken({ companyId, name: 'test runner' });
  return new RunnerHttp(plane.url, token);
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A CliIo that records what a command prints. */
export function captureIo(env: NodeJS.ProcessEnv = {}) {
  const io = { out: '', err: '', env, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

/**
 * Runs `founderos-runner server` in this process on a free port, on `dataDir`; resolves once it prints its URL.
 * `stop` ends it as a signal would, and resolves with its exit code. A first start on a new data dir creates the
 * PGlite database (initdb, in a child process) and then opens it: tens of seconds on a busy machine.
 */
export async function serveCommand(dataDir: string, flags: readonly string[] = [], env: NodeJS.ProcessEnv = {}, waitMs = 60_000) {
  const io = captureIo(env);
  const stop = new AbortController();
  const exited = runServerCommand(['--port', '0', '--data-dir', dataDir, ...flags], io, stop.signal);
  const url = await eventually(async () => /listening on (http:\/\/\S+)/.exec(io.out)?.[1], waitMs);
  return { io, url, stop: async () => (stop.abort(), exited) };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
