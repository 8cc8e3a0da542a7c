/**
 * The built `founderos-runner server` as a child process (so that its memory can be read and its death seen), and the
 * raw-socket client the hostile-HTTP suite speaks to it with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rssMb } from '../support/process-memory.js';
import { RUNNER_BIN, until } from '../support/runner-process.js';

/** The CLI under test: this build, or another one (FOUNDEROS_HOSTILE_HTTP_BIN) to show that a case fails there. */
export const SERVER_BIN = process.env.FOUNDEROS_HOSTILE_HTTP_BIN ?? RUNNER_BIN;
export const ADMIN_KEY = 'fosadmin_HostileHttpSuiteKey0123456789abcdefghijkl';

export interface ServerChildOptions {
  /** postgres://… : PostgreSQL instead of PGlite (given in DATABASE_URL, not on the command line). */
  databaseUrl?: string;
  /** The open-file limit the server runs under (`ulimit -n`), as on a default Linux login. */
  openFiles?: number;
  flags?: readonly string[];
}

export class ServerChild {
  stdout = '';
  stderr = '';
  url = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'founderos-hostile-http-'));

  private constructor(options: ServerChildOptions) {
    const argv = [SERVER_BIN, 'server', '--port', '0', '--data-dir', this.dataDir, '--long-poll-sec', '2', ...(options.flags ?? [])];
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, FOUNDEROS_ADMIN_KEY: ADMIN_KEY };
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    // `exec` keeps the pid: the one whose memory is read is node's, not the shell's.
    this.child = options.openFiles
      ? spawn('/bin/sh', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, ...argv], { env })
      : spawn(process.execPath, argv, { env });
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.stdout += text));
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(options: ServerChildOptions = {}): Promise<ServerChild> {
    const server = new ServerChild(options);
    await until(
      () => /listening on (http:\/\/\S+)/.test(server.stdout) || !server.alive(),
      90_000,
      () => `the server did not start:\n${server.stdout}\n${server.stderr}`,
    );
    if (!server.alive()) throw new Error(`the server exited at start:\n${server.stderr}`);
    server.url = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
    return server;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  rssMb(): number {
    return Math.round(rssMb(this.pid));
  }

  /** The server's log lines since `from` (a length of `stderr` taken earlier). */
  logSince(from: number): string[] {
    return this.stderr.slice(from).split('\n').filter(Boolean);
  }

  /**
   * How long /healthz took to answer 200 on a connection of its own (as a monitor's probe opens one), in ms; Infinity
   * when it did not within a second, or failed.
   */
  healthzMs(): Promise<number> {
    return new Promise((resolve) => {
      const started = performance.now();
      const req = get(`${this.url}/healthz`, { agent: false, timeout: 1000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const ms = Math.round(performance.now() - started);
          resolve(res.statusCode === 200 && ms <= 1000 ? ms : Number.POSITIVE_INFINITY);
        });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(Number.POSITIVE_INFINITY));
    });
  }

  async stop(): Promise<void> {
    if (this.alive()) this.child.kill('SIGTERM');
    const stopped = await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 10_000, 'timeout'))]);
    if (stopped === 'timeout') this.child.kill('SIGKILL');
    await this.exited;
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Samples a process's RSS every `everyMs` until stopped; resolves to the largest seen, in MB. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(Math.max(peak, rssMb(pid)));
    },
  };
}

/** Polls /healthz every `everyMs` until stopped; resolves to the slowest answer (Infinity: one took over a second). */
export function watchHealth(server: ServerChild, everyMs = 200): { stop(): Promise<number> } {
  let worst = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      worst = Math.max(worst, await server.healthzMs());
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return worst;
    },
  };
}

export interface RawAnswer {
  /** The status of the first answer, or 0 when the connection closed without one. */
  status: number;
  text: string;
}

/**
 * Writes `bytes` on a fresh connection and resolves to what came back, once the server closed the connection or
 * `waitMs` passed since the last byte (a kept-alive connection after its answer).
 */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 1000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(done, waitMs);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      idle();
    });
    socket.on('close', done);
    socket.on('error', done);
    idle();
  });
}
