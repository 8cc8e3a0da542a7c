import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/control-plane/index.js';
import { probeSandbox } from '../../src/streams/sandbox.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { RunnerProcess, isAlive, until } from '../support/runner-process.js';
import { scratchDir } from '../support/temp-dir.js';

/**
 * A hostile agent (test/fixtures/agents/escape-agent.mjs), run by the built runner against the real control plane,
 * with the sandbox on and then off, as the same user. Every attempt is judged by what happened, not by what the agent
 * says: what reached it is what it printed into its own stored events (a secret it could not print unless it read
 * it), what it wrote is looked for on disk, what it left running in the process table. With the sandbox off, every
 * escape is shown to succeed (so the checks can fail), except the processes the marker sweep ends in both modes.
 *
 * At the end the suite prints the table of the two runs (docs/sandbox.md shows it); FOUNDEROS_ESCAPE_TABLE=<file>
 * writes it there too.
 */
const ESCAPE_AGENT = fileURLToPath(new URL('../fixtures/agents/escape-agent.mjs', import.meta.url));
const MODES = ['on', 'off'] as const;
type Mode = (typeof MODES)[number];
const sandbox = probeSandbox();

/** What each attempt came to, by mode: `true` when the agent got there. */
const outcomes = new Map<string, Partial<Record<Mode, boolean>>>();
const record = (attempt: string, mode: Mode, reached: boolean) => outcomes.set(attempt, { ...outcomes.get(attempt), [mode]: reached });

afterAll(() => {
  const cell = (reached: boolean | undefined) => (reached === undefined ? 'not run' : reached ? '**reached**' : 'blocked');
  const rows = [...outcomes].map(([attempt, by]) => `| ${attempt} | ${cell(by.on)} | ${cell(by.off)} |`);
  const table = ['| The agent tries to … | sandbox on | sandbox off |', '| --- | --- | --- |', ...rows].join('\n');
  process.stdout.write(`\nEscape table (${new Date().toISOString()}):\n${table}\n`);
  if (process.env.FOUNDEROS_ESCAPE_TABLE) writeFileSync(process.env.FOUNDEROS_ESCAPE_TABLE, `${table}\n`);
});

/** The live processes whose command line carries `tag`, from /proc. */
function processesTagged(tag: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tag) && isAlive(pid);
      } catch {
        return false;
      }
    });
}

describe.each(MODES)('a hostile agent, with the sandbox %s', (mode) => {
  const skip = mode === 'on' && !sandbox.works;
  const nonce = randomUUID().slice(0, 8);
  const secrets = {
    ssh: `SSH-KEY-${nonce}`,
    victimOutput: `VICTIM-OUT-${nonce}`,
    victimFile: `VICTIM-FILE-${nonce}`,
    forged: `FORGED-${nonce}`,
  };
  const tags = {
    background: `escape-${nonce}-background`,
    nohup: `escape-${nonce}-nohup`,
    setsid: `escape-${nonce}-setsid`,
    'double fork': `escape-${nonce}-double-fork`,
    'setsid, FOUNDEROS_JOB_ID cleared': `escape-${nonce}-scrubbed`,
  };
  let root = '';
  let home = '';
  let server: TestControlPlane;
  let runner: RunnerProcess;
  /** A socket in the user's runtime directory, standing for the session bus (systemd --user starts processes for it). */
  let bus: Server;
  const heardOnBus: string[] = [];
  const workspaces = () => join(home, '.local', 'state', 'founderos-runner', 'workspaces');
  const spoolDir = () => join(home, '.local', 'state', 'founderos-runner', 'spool');
  const tokenFile = () => join(home, 'founderos-token');
  const bashrc = '# the user’s own\n';

  beforeAll(async () => {
    if (skip) return;
    // Outside /tmp: the sandbox's private /tmp would hide a home there for the wrong reason.
    root = scratchDir(`escape-${mode}-`);
    home = join(root, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'id_ed25519'), secrets.ssh, { mode: 0o600 });
    writeFileSync(join(home, '.bashrc'), bashrc);
    mkdirSync(join(root, 'run'), { mode: 0o700 });
    bus = createServer((socket) => socket.setEncoding('utf8').on('data', (text: string) => heardOnBus.push(text)));
    await new Promise<void>((resolve) => bus.listen(join(root, 'run', 'bus'), resolve));
    server = await startTestControlPlane();
    writeFileSync(tokenFile(), `${server.token}\n`, { mode: 0o600 });
    runner = new RunnerProcess(
      [
        'start',
        `--server-url=${server.url}`,
        `--token-file=${tokenFile()}`,
        `--claude-bin=${ESCAPE_AGENT}`,
        '--concurrency=2',
        `--sandbox=${mode}`,
      ],
      // The token in the environment too, as a service started with FOUNDEROS_RUNNER_TOKEN has it.
      {
        HOME: home,
        XDG_STATE_HOME: join(home, '.local', 'state'),
        XDG_CONFIG_HOME: join(home, '.config'),
        FOUNDEROS_RUNNER_SPOOL_DIR: spoolDir(),
        FOUNDEROS_RUNNER_WORK_DIR: workspaces(),
        XDG_RUNTIME_DIR: join(root, 'run'),
        FOUNDEROS_RUNNER_TOKEN: server.token,
      },
    );
    await runner.waitForLog(mode === 'on' ? /sandbox: on/ : /sandbox: off/);
  });
  afterAll(async () => {
    if (skip) return;
    for (const tag of Object.values(tags)) for (const pid of processesTagged(tag)) process.kill(pid, 'SIGKILL');
    await runner?.stop();
    await server?.close();
    bus?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const enqueue = (agentId: string, prompt: Record<string, unknown>) =>
    server.admin.enqueueJob({ companyId: 'acme', agentId, agentName: agentId, prompt: JSON.stringify(prompt) });
  /** What the agent printed for `attempt`, as the server stored it. */
  const got = (events: StoredEvent[], attempt: string) =>
    String((events.find((event) => (event.payload as { attempt?: string })?.attempt === attempt)?.payload as { got?: string })?.got);

  it.skipIf(skip)(
    "should keep the runner's secrets, other jobs, credentials, files and processes from the agent",
    { timeout: 120_000 },
    async () => {
      const victim = await enqueue('victim', { role: 'victim', fileSecret: secrets.victimFile, outputSecret: secrets.victimOutput });
      await until(
        async () => JSON.stringify(await server.events(victim.jobId)).includes(secrets.victimOutput),
        20_000,
        () => `the victim never printed:\n${runner.stderr}`,
      );
      const outside = join(root, `outside-${nonce}`);
      const attacker = await enqueue('attacker', {
        role: 'attacker',
        runnerPid: runner.child.pid,
        tokenFile: tokenFile(),
        spoolDir: spoolDir(),
        victimJobId: victim.jobId,
        victimWorkspace: join(workspaces(), 'victim'),
        home,
        outside,
        busSocket: join(root, 'run', 'bus'),
        forged: secrets.forged,
        tags,
      });

      // The processes it leaves are there while it runs (so the attempt was real), then the job ends.
      await until(
        () => Object.values(tags).every((tag) => processesTagged(tag).length > 0),
        20_000,
        () => `not every process started:\n${runner.stderr}`,
      );
      writeFileSync(join(workspaces(), 'attacker', 'go-on'), '');
      const attackerJob = await server.waitForJob(attacker.jobId, undefined, 60_000);
      expect(attackerJob.status).toBe('completed');
      const events = await server.events(attacker.jobId);

      const reads: [string, string][] = [
        ['read the token file', server.token],
        ["read the runner's environment", server.token],
        ["read the runner's command line", 'founderos-runner.js start'],
        ["read the runner's memory", server.token],
        ['list the spool', victim.jobId],
        ["read another job's output", secrets.victimOutput],
        ["read another agent's workspace", secrets.victimFile],
        ['read ~/.ssh', secrets.ssh],
        ['unmask ~/.ssh from a new user namespace', secrets.ssh],
      ];
      for (const [attempt, secret] of reads) {
        const reached = got(events, attempt).includes(secret);
        record(attempt, mode, reached);
        expect({ attempt, reached }).toEqual({ attempt, reached: mode === 'off' });
      }

      // Writes: judged on disk, and the forged line by the other job's stored transcript.
      writeFileSync(join(workspaces(), 'victim', 'release'), '');
      await server.waitForJob(victim.jobId, undefined, 60_000);
      const writes: [string, boolean][] = [
        ["write into another job's output", JSON.stringify(await server.events(victim.jobId)).includes(secrets.forged)],
        ['write ~/.bashrc', readFileSync(join(home, '.bashrc'), 'utf8') !== bashrc],
        ['write outside its workspace (a world-writable place)', existsSync(outside)],
        ["connect to the user's session bus", heardOnBus.join('').includes(secrets.forged)],
      ];
      for (const [attempt, reached] of writes) {
        record(attempt, mode, reached);
        expect({ attempt, reached }).toEqual({ attempt, reached: mode === 'off' });
      }
      // What it may do, it did: its own workspace is its to write.
      expect(readFileSync(join(workspaces(), 'attacker', 'own.txt'), 'utf8')).toBe(secrets.forged);

      // Left running after the job: none, in either mode, but for the one that hid from the sweep with the sandbox off.
      for (const [how, tag] of Object.entries(tags)) {
        const left = processesTagged(tag).length > 0;
        record(`leave a process behind: ${how}`, mode, left);
        expect({ how, left }).toEqual({ how, left: mode === 'off' && how === 'setsid, FOUNDEROS_JOB_ID cleared' });
      }
    },
  );

  it.skipIf(skip)('should keep the runner from being killed by its agent', { timeout: 60_000 }, async () => {
    const job = await enqueue('killer', { role: 'killer', runnerPid: runner.child.pid });
    if (mode === 'off') {
      await Promise.race([runner.exit, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      record('kill the runner', mode, !isAlive(runner.child.pid!));
      expect(isAlive(runner.child.pid!)).toBe(false);
      return;
    }
    expect((await server.waitForJob(job.jobId, undefined, 30_000)).status).toBe('completed');
    expect(got(await server.events(job.jobId), 'kill the runner')).toMatch(/refused: ESRCH/);
    record('kill the runner', mode, !isAlive(runner.child.pid!));
    expect(isAlive(runner.child.pid!)).toBe(true);
  });
});
