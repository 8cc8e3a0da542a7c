import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_KEY_ENV, startControlPlane, type AdminApi, type StoredEvent } from '../control-plane/index.js';
import { formatFlags, parseFlags, type FlagDeclaration } from './args.js';
import { processIo, runCommand, type CliIo } from './command.js';
import { createLogger } from '../runner/logger.js';
import { EXIT } from './exit-codes.js';
import { runRunner } from './start/command.js';
import { RUNNER_VERSION } from '../runner/version.js';
import { describeEvent } from '../demo/format-event.js';
import { probeSandbox } from '../streams/sandbox.js';

const DEMO_AGENT = fileURLToPath(new URL('../demo/demo-agent.js', import.meta.url));
const DEMO_PROMPT = 'Say hello, then tell me what is in your working directory.';

/**
 * `founderos-runner demo`: the whole loop on this machine with nothing set up. A control plane over
 * PGlite in a temporary folder, a token, one queued job, and the real runner claiming it and running the
 * demo agent (or, with --agent claude, the real Claude Code) while the job's events print live.
 */
const DEMO_COMMAND = 'founderos-runner demo';
const DEMO_FLAGS: readonly FlagDeclaration[] = [
  {
    flag: 'agent',
    kind: 'value',
    placeholder: 'BIN',
    defaultText: 'the demo agent',
    usage: 'run this Claude Code binary instead (e.g. --agent claude), logged in as you',
  },
  {
    flag: 'keep',
    kind: 'boolean',
    usage: 'keep the temporary data, and the control plane and its dashboard running after the job until ^C',
  },
];

/** `founderos-runner demo --help`, written from the declarations of its flags. */
export function demoHelp(): string {
  return `Usage: ${DEMO_COMMAND} [flags]

Shows the whole loop on this machine, with no account and nothing set up: a control plane in a temporary
folder, a token, one job, and the real runner running it while its events print live.

${formatFlags(DEMO_FLAGS)}
`;
}

export function demoCommand(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runCommand(DEMO_COMMAND, io, async () => {
    const flags = parseFlags(argv, DEMO_FLAGS, DEMO_COMMAND);
    if (flags.bool('help')) {
      io.stdout(demoHelp());
      return EXIT.ok;
    }
    return runDemo(flags.str('agent') ?? 'demo', flags.bool('keep'));
  });
}

async function runDemo(agent: string, keep: boolean): Promise<number> {
  const claudeBin = agent === 'demo' ? DEMO_AGENT : agent;
  const out = (line = '') => process.stdout.write(`${line}\n`);

  const dataDir = mkdtempSync(join(tmpdir(), 'founderos-demo-'));
  const controlPlane = await startControlPlane({ dataDir, port: 0 });
  try {
    const { admin } = controlPlane;
    const { token, info } = await admin.createToken({ companyId: 'demo-company', name: 'demo runner' });
    out(`FounderOS runner demo: everything runs on this machine, nothing leaves it.`);
    out(`  control plane  ${controlPlane.url}  (PGlite in ${dataDir})`);
    const keyIn = controlPlane.adminKeyFile ?? ADMIN_KEY_ENV;
    if (controlPlane.dashboardUrl) out(`  dashboard      ${controlPlane.dashboardUrl}  (log in with the admin key in ${keyIn})`);
    out(`  runner token   ${info.preview}…  (company demo-company)`);
    const job = await admin.enqueueJob({
      companyId: 'demo-company',
      agentName: 'Demo agent',
      prompt: DEMO_PROMPT,
      adapterType: 'claude_local',
      timeoutSec: 300,
    });
    const enqueuedAt = Date.now();
    out(`  job            ${job.jobId} queued for "${job.agentName}"`);
    out(`  runner         founderos-runner v${RUNNER_VERSION} running ${agent === 'demo' ? 'the demo agent' : agent}`);
    const sandbox = probeSandbox();
    out(`  sandbox        ${sandbox.works ? `on (${sandbox.version})` : 'off: the runner says why below, and how to turn it on'}`);
    out();

    const log = createLogger({ level: 'warn', secrets: [token] });
    const runner = runRunner(
      {
        token,
        serverUrl: controlPlane.url,
        agentBins: { claude: claudeBin },
        allowProcessJobs: false,
        timeoutSec: 300,
        spoolDir: join(dataDir, 'spool'),
        concurrency: 1,
        maxJobs: 1,
        logLevel: 'warn',
        logFormat: 'text',
        sandbox: 'auto',
        workDir: join(dataDir, 'workspaces'),
        allowDirs: [],
        expose: [],
      },
      log,
      process.env,
    );
    const followed = followEvents(admin, job.jobId, (event) => {
      const at = ((Date.parse(event.ts) - enqueuedAt) / 1000).toFixed(2).padStart(5);
      out(`  +${at}s  ${event.kind.padEnd(19)} ${describeEvent(event.kind, event.payload)}`);
    });
    const exitCode = await runner;
    const events = await followed;
    const final = await admin.getJob(job.jobId);

    const firstEventSec = events[0] ? ((Date.parse(events[0].ts) - enqueuedAt) / 1000).toFixed(2) : '-';
    out();
    out('Summary');
    const exit = final.exitCode === null ? '' : ` (exit ${final.exitCode})`;
    out(`  status            ${final.status}${exit}${final.errorMessage ? `: ${final.errorMessage}` : ''}`);
    out(`  events delivered  ${final.eventCount} stored on the server, in order`);
    out(`  cost              ${final.costMicros === null ? 'not reported' : `$${(final.costMicros / 1_000_000).toFixed(6)}`}`);
    out(`  session id        ${final.resultSessionId ?? 'none'}  (a next job can resume it)`);
    out(`  cli version       ${final.cliVersion ?? 'unknown'}`);
    out(`  first event       ${firstEventSec} s after enqueue;  total ${((Date.now() - enqueuedAt) / 1000).toFixed(2)} s`);
    if (keep) out(`  data kept in      ${dataDir}`);
    out();
    out('Next: founderos-runner start --token=fos_… --server-url=https://… runs real jobs from your FounderOS dashboard.');
    if (keep && controlPlane.dashboardUrl) {
      out();
      out(`The control plane keeps running. Open the job you just watched: ${controlPlane.dashboardUrl}#/jobs/${job.jobId}`);
      out(`  log in with the admin key in ${keyIn}; stop with Ctrl-C.`);
      await untilSignal();
    }
    return exitCode === EXIT.ok && final.status === 'completed' ? EXIT.ok : EXIT.failure;
  } finally {
    await controlPlane.close();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Prints each event as the server stores it, until the job is terminal and nothing more arrives. */
async function followEvents(admin: AdminApi, jobId: string, print: (event: StoredEvent) => void): Promise<StoredEvent[]> {
  const seen: StoredEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await admin.listEvents(jobId, { after, waitMs: 1_000 });
    page.events.forEach(print);
    seen.push(...page.events);
    after = page.nextCursor;
    if (page.events.length === 0 && ['completed', 'failed', 'cancelled'].includes(page.jobStatus)) return seen;
  }
}

/** Resolves on the first SIGINT or SIGTERM (after which the default handlers are back: a second ^C kills). */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
