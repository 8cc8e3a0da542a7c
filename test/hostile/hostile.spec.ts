import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlane,
  type EnqueueJobInput,
  type JobDetail,
  type StoredEvent,
} from '../../src/control-plane/index.js';
import { startRecordingProxy, type Interceptor, type RecordedRequest } from '../support/recording-proxy.js';
import { isAlive, RunnerProcess, until, workspaceFile } from '../support/runner-process.js';
import { deliveryOf, eventText, numberedLines, orphansOf, storedEvents } from '../support/store-checks.js';
import { peakRssMb, rssMb } from '../support/process-memory.js';
import { markdownTable } from '../support/table.js';

/**
 * The hostile-input suite (issue 11). The built runner talks, through a recording proxy, to the reference control
 * plane (PGlite); the agent is test/fixtures/agents/hostile-agent.mjs, which prints hostile lines between numbered
 * markers. A scenario is hostile on one side: the agent prints something nasty, or the proxy answers in place of the
 * server (malformed JSON, redirects, endless bodies, a hang) once, then lets the real server answer.
 *
 * Every scenario queues two jobs: A, the job under test, and B, a clean one behind it. It then checks, on the store:
 * every marker A printed arrived once and in order; A ended with a status that tells the truth (a job that lost
 * output is not a clean `completed`); B completed, so the same runner process is still serving; no agent process is
 * left; no request went to another origin or off the protocol's routes; and a leftover spool (when the runner died or
 * left one) does not make the next start exit non-zero.
 *
 * `npm test` runs it small; `npm run hostile` (HOSTILE_FULL=1) adds the 50 MB line and the hangs that wait out the
 * runner's own 60 s / 30 s request timeouts, and prints the same table.
 */
const FULL = process.env.HOSTILE_FULL === '1';
const HUGE_LINE_BYTES = FULL ? 50 * 1024 * 1024 : 3 * 1024 * 1024;
const HOSTILE_AGENT = fileURLToPath(new URL('../fixtures/agents/hostile-agent.mjs', import.meta.url));
const SESSION = 'hostile-session-0001';
/** claude's `total_cost_usd` of the agent's normal result line, 0.0412, in micro-dollars. */
const COST_MICROS = 41_200;
/** A runner that holds more than this, whatever it is fed, is on its way to exhausting memory. */
const MAX_RUNNER_RSS_MB = 512;
/** What an endless body may make a runner hold before the test stops feeding it (to protect the shared machine). */
const ENDLESS_RSS_CUTOFF_MB = 1_024;

type JobStatus = JobDetail['status'];

interface AgentSpec {
  entries?: string[];
  result?: string;
  delayMs?: number;
}

interface Scenario {
  name: string;
  /** Only in `npm run hostile`: slow, or covered in `npm test` by a scenario that combines several. */
  full?: boolean;
  /** What the hostile side sends, for the table. */
  sends: string;
  /** What job A's hostile agent prints (default: only its markers and a normal result). */
  agent?: AgentSpec;
  job?: Partial<EnqueueJobInput>;
  /** The hostile control plane: what the proxy does instead of the real server. */
  intercept?: (context: Context) => Interceptor;
  /** Puts files in the spool before the first start; returns a check for the end (what is wrong, if anything). */
  prepare?: (context: Context & { spoolDir: string; serverUrl: string }) => () => string | undefined;
  /** Done while the first runner runs, e.g. stopping it (the hang scenario stops it once the hang is on). */
  after?: (context: Context & { runner: RunnerProcess }) => Promise<void>;
  /** The honest status of A; a function when more than one is honest. */
  status?: JobStatus | ((job: JobDetail, events: StoredEvent[]) => string | undefined);
  /** The server refused A's output on purpose: markers may be lost, then the completion must say so. */
  lossAllowed?: boolean;
  /** How the first runner process must end up: alive and serving, exited with this code (a 401), or killed. */
  runner?: 'alive' | number | NodeJS.Signals;
  /** Markers A's agent must print (0 when the runner must refuse the job before starting it). */
  agentRuns?: boolean;
  /** Checks of A's completion beyond its status; returns what is wrong. */
  check?: (job: JobDetail, events: StoredEvent[]) => string | undefined;
  timeoutMs?: number;
  /** The scenario calls `served` once its hostile answers are all out: a runner that stopped asking fails it. */
  mustServe?: boolean;
}

interface Context {
  /** The runner process now serving (a second one after the first exited). */
  runnerPid: () => number | undefined;
  jobA: string;
  jobB: string;
  /** A second local server, another origin: redirects point there, and it must never be reached. */
  elsewhere: string;
  /** Call when the hostile answer was served; `hostileServed` then resolves. */
  served: () => void;
  hostileServed: Promise<void>;
}

interface Row {
  scenario: string;
  sends: string;
  printed: number;
  delivered: number;
  duplicates: number;
  lost: number;
  hostileLines: string;
  status: string;
  runner: string;
  orphans: number;
  stray: number;
  nextStart: string;
  rssMb: number;
  problems: string[];
}

let server: ControlPlane;
const rows: Row[] = [];
let company = 0;

beforeAll(async () => {
  server = await startControlPlane({ longPollMs: 1_000 });
});

afterAll(async () => {
  await server?.close();
  // Scenarios run concurrently: the table keeps the order in which they are listed.
  const order = [...agentScenarios, ...flagScenarios, ...restartScenarios, ...serverScenarios].map((scenario) => scenario.name);
  rows.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
  const header = [
    'scenario',
    'what it sends',
    'markers printed',
    'markers delivered',
    'duplicates',
    'lost',
    'hostile lines stored',
    'job',
    'runner',
    'orphans',
    'stray requests',
    'next start',
    'peak RSS MB',
  ];
  const table = markdownTable(
    header,
    rows.map((row) => [
      row.scenario,
      row.sends,
      row.printed,
      row.delivered,
      row.duplicates,
      row.lost,
      row.hostileLines,
      row.status,
      row.runner,
      row.orphans,
      row.stray,
      row.nextStart,
      row.rssMb,
    ]),
  );
  const failures = rows.filter((row) => row.problems.length).map((row) => `- ${row.scenario}: ${row.problems.join('; ')}`);
  process.stdout.write(
    `\nHostile input (${FULL ? 'full' : 'quick'}: a ${HUGE_LINE_BYTES / 1024 / 1024} MiB line)\n${table}\n${failures.length ? `\nFailing:\n${failures.join('\n')}\n` : ''}`,
  );
});

const ALL_LINES = [
  'lone-surrogate',
  'nul-in-key',
  'nul-in-value',
  'deep-nesting',
  'deep-objects',
  'raw-nul-byte',
  'invalid-utf8',
  'huge-line',
  'control-chars',
  'control-chars-json',
  'crlf',
  'lone-cr',
  'terminal-escapes',
  'non-object-json',
  'proto-keys',
  'long-keys',
  'huge-numbers',
  'bom',
  'whitespace-only',
  'empty-line',
  'stderr-garbage',
];

const agentScenarios: Scenario[] = [
  // One job per hostile line, for a row each: `npm run hostile` only. `npm test` prints them all in one job (below).
  ...(
    [
      { name: 'lone surrogate in an assistant line', sends: '`"text":"cut emoji \\ud83d"`', agent: { entries: ['lone-surrogate'] } },
      { name: 'NUL escape in an object key', sends: '`{"k\\u0000":1}`', agent: { entries: ['nul-in-key'] } },
      { name: 'NUL escape in a string', sends: '`"text":"before\\u0000after"`', agent: { entries: ['nul-in-value'] } },
      { name: 'deep nesting in an array', sends: '`{"a":[[[[…]]]]}`, 5,000 levels', agent: { entries: ['deep-nesting'] } },
      { name: 'deep nesting in objects', sends: '`{"a":{"a":…}}`, 3,000 levels', agent: { entries: ['deep-objects'] } },
      { name: 'raw NUL bytes', sends: 'a plain line with bytes 0x00', agent: { entries: ['raw-nul-byte'] } },
      {
        name: 'invalid UTF-8',
        sends: '0xff 0xfe, overlong, encoded surrogate; also inside a JSON string',
        agent: { entries: ['invalid-utf8'] },
      },
      {
        name: FULL ? 'a 50 MB line' : 'a 3 MiB line',
        sends: `${HUGE_LINE_BYTES / 1024 / 1024} MiB without a newline (cut at 1 MiB)`,
        agent: { entries: ['huge-line'] },
        timeoutMs: FULL ? 120_000 : 30_000,
      },
      { name: '1 MiB of \\x01', sends: 'a plain line that escapes to 6 MB of JSON', agent: { entries: ['control-chars'] } },
      {
        name: '1 MiB of \\u0001 in JSON',
        sends: 'an assistant line whose text escapes to 6 MB',
        agent: { entries: ['control-chars-json'] },
      },
      { name: 'CRLF line ends', sends: 'a plain and a JSON line ending in \\r\\n', agent: { entries: ['crlf'] } },
      { name: 'lone CR', sends: '`progress 10%\\rprogress 50%\\r…`', agent: { entries: ['lone-cr'] } },
      {
        name: 'terminal escapes',
        sends: 'clear screen, title, OSC 8 link, colours; raw and as JSON escapes',
        agent: { entries: ['terminal-escapes'] },
      },
      { name: 'non-object JSON', sends: '`[1,2]`, `"str"`, `null`, `42`, `true`, `{}`', agent: { entries: ['non-object-json'] } },
      {
        name: '__proto__ and constructor keys',
        sends: '`{"__proto__":{…}}`, `{"constructor":{"prototype":…}}`',
        agent: { entries: ['proto-keys'] },
      },
      { name: 'very long keys', sends: 'keys of 100,000 and 50,000 characters', agent: { entries: ['long-keys'] } },
      { name: 'numbers out of range', sends: '`1e400`, `-1e400`, 30-digit integers, `1e-400`', agent: { entries: ['huge-numbers'] } },
      { name: 'a BOM before JSON', sends: 'U+FEFF then an assistant line', agent: { entries: ['bom'] } },
      { name: 'whitespace-only line', sends: 'spaces, a tab, a no-break space', agent: { entries: ['whitespace-only'] } },
      { name: 'empty line', sends: '`\\n`', agent: { entries: ['empty-line'] } },
      {
        name: 'NUL, bad bytes and escapes on stderr',
        sends: 'a stderr line with 0x00, 0xff 0xfe, ESC',
        agent: { entries: ['stderr-garbage'] },
      },
    ] satisfies Scenario[]
  ).map((scenario) => ({ ...scenario, full: true })),
  {
    name: 'lone surrogate in the result line',
    sends: '`"result":"cut \\ud83d"` with cost and session',
    agent: { result: 'lone-surrogate' },
    check: costAndSession(COST_MICROS),
  },
  ...(
    [
      ['cost-string', '"free"'],
      ['cost-negative', '-5'],
      ['cost-huge', '1e308'],
      ['cost-infinite', '1e400 (Infinity)'],
      ['cost-nan-text', '"NaN"'],
      ['cost-object', '{"usd":1}'],
    ] as const
  ).map(
    ([result, value]): Scenario => ({
      name: `result with cost ${value}`,
      sends: `\`"total_cost_usd":${value}\``,
      agent: { result },
      check: costAndSession(null),
    }),
  ),
  {
    name: 'the whole catalogue in one job',
    sends: `all ${ALL_LINES.length} hostile entries of the agent's catalogue, between markers 0 … ${ALL_LINES.length}`,
    agent: { entries: ALL_LINES, result: 'lone-surrogate' },
    check: costAndSession(COST_MICROS),
    timeoutMs: FULL ? 150_000 : 40_000,
  },
];

/** Job fields a control plane controls that end up in the agent's argv: none may become a flag of its own. */
const flagScenarios: Scenario[] = (
  [
    ['model', { model: '--dangerously-skip-permissions' }],
    ['sessionId', { sessionId: '--dangerously-skip-permissions' }],
    ['addDirs', { addDirs: ['--mcp-config=/tmp/hostile-mcp.json'] }],
  ] satisfies [string, Partial<EnqueueJobInput>][]
).map(
  ([field, job]): Scenario => ({
    name: `${field} that is a flag`,
    sends: `\`${JSON.stringify(job)}\``,
    job,
    status: (final, events) => {
      if (events.some((event) => eventText(event)?.startsWith('flag injected')))
        return `the agent was started with a flag from ${field}: ${events.map(eventText).find((text) => text?.startsWith('flag injected'))}`;
      // Refusing the job is honest when the message names the field; running it is honest when the value stayed a value.
      if (final.status === 'failed' && new RegExp(field.replace('Dirs', 'Dir'), 'i').test(final.errorMessage ?? '')) return undefined;
      if (final.status === 'completed') return undefined;
      return `expected failed naming ${field} (or completed with the value kept a value), got ${final.status}: ${final.errorMessage}`;
    },
    agentRuns: false,
  }),
);

const pollRoute = (path: string) => path.endsWith('/api/runner/jobs/next');
const eventsRoute = (path: string) => path.endsWith('/events');
const claimOf = (jobId: string) => (path: string) => path.endsWith(`/jobs/${jobId}/claim`);
/** The first long-poll gets `answer` instead of the server's; the ones after it reach the server. */
const firstPoll = (status: number, body: string | Buffer, headers: Record<string, string> = {}) =>
  onFirst((request) => request.method === 'GET' && pollRoute(request.path), { respond: { status, body, headers } });
/** What a proxy or load balancer in front of a control plane answers: a page for people, not JSON. */
const html = (status: number) => `<!doctype html><html><body><h1>${status}</h1>nginx</body></html>`;
const HTML = { 'content-type': 'text/html; charset=utf-8' };

/** What a runner that died, or another program, leaves in the spool: the next start must settle it or set it aside. */
const restartScenarios: Scenario[] = [
  {
    name: 'runner killed (kill -9) mid-catalogue',
    sends: 'the whole catalogue, 80 ms apart; the runner is killed once 3 markers are stored',
    agent: { entries: ALL_LINES, delayMs: 80 },
    after: async ({ runner, jobA }) => {
      await until(
        async () => numberedLines(await storedEvents(server.admin, jobA), 'marker').length >= 3 || runner.child.exitCode !== null,
        30_000,
        () => 'the job never streamed',
        100,
      );
      runner.signal('SIGKILL');
      await runner.exit;
    },
    runner: 'SIGKILL',
    // The next start stops the agent and delivers what it printed: the job failed, and says why.
    status: (job) =>
      job.status === 'failed' && /mid-job/.test(job.errorMessage ?? '')
        ? undefined
        : `job A is ${job.status} (${job.errorMessage}), expected failed as stopped mid-job`,
    timeoutMs: FULL ? 150_000 : 60_000,
  },
  {
    name: 'hostile leftover spool',
    sends: 'spool files of garbage bytes, jobId "..", a 5 MB line, a directory, broken batches, an innocent pid as the agent',
    prepare: ({ spoolDir, serverUrl }) => {
      // A process that is not an agent: recovery may kill only what carries a job's id.
      const innocent = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      const header = (jobId: string) => `${JSON.stringify({ t: 'job', jobId, serverUrl, runnerPid: 999_999_999 })}\n`;
      const files: Record<string, string | Buffer> = {
        'garbage.ndjson': Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x7b, 0x22, 0x0a, 0x80]),
        'dotdot.ndjson': `${header('..')}{"events":[]}\n`,
        'slash.ndjson': `${header('../../admin')}{"events":[{"eventId":"x"}]}\n`,
        'long-line.ndjson': `${header(randomUUID())}${'x'.repeat(5 * 1024 * 1024)}`,
        'broken-batch.ndjson': `${header(randomUUID())}{"events":[{"eventId":"not-a-uuid","kind":"nope","ts":"then"}\n{"events":\n{"t":"complete","body":{"status":"completed","exitCode":"zero","costMicros":-1}}\n`,
        'innocent-agent.ndjson': `${header(randomUUID())}${JSON.stringify({ t: 'agent', pid: innocent.pid, adapter: 'claude_local' })}\n`,
        'not-json.ndjson': `${header(randomUUID()).slice(0, 20)}`,
      };
      for (const [name, content] of Object.entries(files)) writeFileSync(join(spoolDir, name), content, { mode: 0o600 });
      mkdirSync(join(spoolDir, 'a-directory.ndjson'));
      return () => {
        const alive = isAlive(innocent.pid!);
        innocent.kill('SIGKILL');
        return alive ? undefined : 'recovery killed a process that was not an agent';
      };
    },
  },
];

/** Long-poll answers that are not a job descriptor: what, the body, how the table shows it. */
const MALFORMED_DESCRIPTORS = [
  ['null', 'null', '`null`'],
  ['{}', '{}', '`{}`'],
  ['[]', '[]', '`[]`'],
  ['a string', '"job-1"', '`"job-1"`'],
  ['a number jobId', JSON.stringify({ ...descriptor('x'), jobId: 42 }), '`{"jobId":42,…}`'],
  ['an object jobId', JSON.stringify({ ...descriptor('x'), jobId: { id: 'x' } }), '`{"jobId":{"id":"x"},…}`'],
  ['an empty jobId', JSON.stringify(descriptor('')), '`{"jobId":"",…}`'],
  ['jobId ..', JSON.stringify(descriptor('..')), '`{"jobId":"..",…}`'],
  ['jobId .', JSON.stringify(descriptor('.')), '`{"jobId":".",…}`'],
  ['a 10 KB jobId', JSON.stringify(descriptor('j'.repeat(10_240))), '`{"jobId":"jjjj…",…}`, 10,240 characters'],
  ['a jobId with NUL', JSON.stringify(descriptor('job\u0000id')), '`{"jobId":"job\\u0000id",…}`'],
  ['a jobId with /', JSON.stringify(descriptor('../../admin/jobs')), '`{"jobId":"../../admin/jobs",…}`'],
  [
    'a jobId of every class',
    JSON.stringify(descriptor(' sp ace ünï 😀 %2e%2e/%2F ? # & = ; \\ \t "\'')),
    'spaces, tab, quotes, `ünï 😀`, `%2e%2e`, `/`, `?`, `#`, `&`, `=`, `;`, `\\` in the jobId',
  ],
  ['truncated JSON', '{"jobId":"abc","agentId":', '`{"jobId":"abc","agentId":`'],
  [
    'invalid UTF-8',
    Buffer.concat([
      Buffer.from('{"jobId":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","agentId":"a","agentName":"A","createdAt":"2025-01-01T00:00:00Z"}'),
    ]),
    'bytes 0xff 0xfe in the jobId',
  ],
] as const;

const MALFORMED_POLL_ANSWERS: { status: number; body: string | Buffer; headers?: Record<string, string> }[] = [
  ...MALFORMED_DESCRIPTORS.map(([, body]) => ({ status: 200, body })),
  ...[200, 500, 409].map((status) => ({ status, body: html(status), headers: HTML })),
];

const serverScenarios: Scenario[] = [
  ...MALFORMED_DESCRIPTORS.map(
    ([what, body, shown]): Scenario => ({
      name: `long-poll answers ${what}`,
      sends: `200 ${shown}`,
      intercept: () => firstPoll(200, body),
      full: true,
    }),
  ),
  { name: 'long-poll answers HTML 200', sends: '200 text/html page', intercept: () => firstPoll(200, html(200), HTML), full: true },
  { name: 'long-poll answers 500 in HTML', sends: '500 text/html page', intercept: () => firstPoll(500, html(500), HTML), full: true },
  { name: 'long-poll answers 401 in HTML', sends: '401 text/html page', intercept: () => firstPoll(401, html(401), HTML), runner: 3 },
  { name: 'long-poll answers 409 in HTML', sends: '409 text/html page', intercept: () => firstPoll(409, html(409), HTML), full: true },
  {
    // The rows above, one runner process: each long-poll gets the next malformed answer, then the server answers.
    name: 'long-poll answers every malformed body in turn',
    sends: `the ${MALFORMED_POLL_ANSWERS.length} malformed answers of the \`long-poll answers …\` rows, one per long-poll`,
    intercept: (context) => pollsInTurn(MALFORMED_POLL_ANSWERS, context),
    mustServe: true,
  },
  ...([302, 307] as const).map(
    (status): Scenario => ({
      name: `long-poll redirected (${status})`,
      sends: `${status} to another origin that offers a job`,
      intercept: ({ elsewhere: to }) => firstPoll(status, '', { location: `${to}/api/runner/jobs/next` }),
    }),
  ),
  {
    name: 'long-poll answers an endless body',
    sends: '200 `{"jobId":"aaaa…` streamed without end',
    intercept: (context) => endless((request) => request.method === 'GET' && pollRoute(request.path), context),
  },
  {
    name: 'claim answers null',
    sends: '200 `null` for the claim',
    intercept: ({ jobA }) => onFirstAnswer(claimOf(jobA), () => 'null'),
    status: 'failed',
    agentRuns: false,
  },
  {
    name: 'claim answers HTML 200',
    sends: '200 text/html for the claim',
    intercept: ({ jobA }) => onFirstAnswer(claimOf(jobA), () => html(200)),
    status: 'failed',
    agentRuns: false,
  },
  {
    name: 'claim answers another job',
    sends: 'a payload whose jobId is another job',
    intercept: ({ jobA, jobB }) => onFirstAnswer(claimOf(jobA), (body) => JSON.stringify({ ...JSON.parse(body), jobId: jobB })),
    status: 'failed',
    agentRuns: false,
  },
  {
    name: 'claim answers a malformed payload',
    sends: '`prompt: 42`, `runtimeConfig: []`, `addDirs: "x"`',
    intercept: ({ jobA }) =>
      onFirstAnswer(claimOf(jobA), (body) => JSON.stringify({ ...JSON.parse(body), prompt: 42, runtimeConfig: [], addDirs: 'x' })),
    status: 'failed',
    agentRuns: false,
  },
  {
    name: 'claim payload with a NUL in the model',
    sends: '`runtimeConfig.model: "opus\\u0000--yolo"` (argv cannot hold it)',
    intercept: ({ jobA }) =>
      onFirstAnswer(claimOf(jobA), (body) => JSON.stringify({ ...JSON.parse(body), runtimeConfig: { model: 'opus\u0000--yolo' } })),
    status: 'failed',
    agentRuns: false,
  },
  {
    name: 'claim payload with a path as adapter',
    sends: '`adapterType: "../../../bin/sh"`',
    intercept: ({ jobA }) =>
      onFirstAnswer(claimOf(jobA), (body) => JSON.stringify({ ...JSON.parse(body), adapterType: '../../../bin/sh' })),
    status: 'failed',
    agentRuns: false,
  },
  {
    name: 'claim answers 409 in HTML',
    sends: '409 text/html (lost the race)',
    intercept: ({ jobA }) =>
      onFirst((request) => claimOf(jobA)(request.path), { respond: { status: 409, body: html(409), headers: HTML } }),
  },
  {
    name: 'claim redirected (307)',
    sends: '307 to another origin',
    intercept: ({ jobA, elsewhere: to }) =>
      onFirst((request) => claimOf(jobA)(request.path), {
        respond: { status: 307, headers: { location: `${to}/api/runner/jobs/${jobA}/claim` } },
      }),
  },
  {
    name: 'claim answers an endless body',
    sends: '200 streamed without end',
    intercept: (context) => endless((request) => claimOf(context.jobA)(request.path), context),
  },
  {
    name: 'events POST redirected (307)',
    sends: '307 to another origin, once',
    agent: { entries: ['empty-line', 'empty-line'], delayMs: 60 },
    intercept: ({ elsewhere: to, jobA }) =>
      onFirst((request) => request.path.endsWith(`/jobs/${jobA}/events`), {
        respond: { status: 307, headers: { location: `${to}/api/runner/jobs/${jobA}/events` } },
      }),
  },
  {
    name: 'events POST answers 500 in HTML',
    sends: '500 text/html, three times',
    agent: { entries: ['empty-line', 'empty-line'], delayMs: 60 },
    intercept: ({ jobA }) =>
      onFirst((request) => request.path.endsWith(`/jobs/${jobA}/events`), { respond: { status: 500, body: html(500), headers: HTML } }, 3),
  },
  {
    name: 'events POST answers an endless body',
    sends: 'the server stores the batch; its 200 answer streams without end',
    agent: { entries: ['empty-line', 'empty-line'], delayMs: 60 },
    intercept: (context) => endless((request) => request.path.endsWith(`/jobs/${context.jobA}/events`), context, { forwardFirst: true }),
  },
  {
    name: 'events POST answers 500 with an endless body',
    sends: 'a 500 whose body streams without end',
    agent: { entries: ['empty-line', 'empty-line'], delayMs: 60 },
    intercept: (context) => endless((request) => request.path.endsWith(`/jobs/${context.jobA}/events`), context, { status: 500 }),
  },
  {
    name: 'one batch refused with 400',
    sends: '400 text/html to the first batch',
    agent: { entries: ['empty-line', 'empty-line', 'empty-line'], delayMs: 150 },
    intercept: ({ jobA }) =>
      onFirst((request) => eventsRoute(request.path) && request.path.includes(jobA), {
        respond: { status: 400, body: html(400), headers: HTML },
      }),
    lossAllowed: true,
  },
  ...([500, 502] as const).map(
    (status): Scenario => ({
      name: `one batch answered ${status} for ever`,
      // A batch that crashes the server behind a load balancer gets a 502 for ever, while every other request succeeds.
      sends: `${status} to every try of the first batch; every other request reaches the server`,
      agent: { entries: ['empty-line', 'empty-line', 'empty-line'], delayMs: 150 },
      intercept: ({ jobA }) =>
        sameBatchForever(jobA, {
          respond: { status, body: status === 500 ? '{"error":"internal_error"}' : html(status), headers: status === 500 ? {} : HTML },
        }),
      lossAllowed: true,
    }),
  ),
  {
    name: 'heartbeat redirected (302)',
    sends: '302 to another origin on every heartbeat',
    agent: { entries: ['empty-line', 'empty-line'], delayMs: 400 },
    intercept:
      ({ elsewhere: to, served }) =>
      (request) => {
        if (!request.path.endsWith('/heartbeat')) return undefined;
        served();
        return { respond: { status: 302, headers: { location: `${to}${request.path}` } } };
      },
    // The job runs 1.2 s and beats every 0.3 s: a run without a single heartbeat would prove nothing.
    mustServe: true,
  },
  {
    name: 'complete redirected (307)',
    sends: '307 to another origin, once',
    intercept: ({ elsewhere: to, jobA }) =>
      onFirst((request) => request.path.endsWith(`/jobs/${jobA}/complete`), {
        respond: { status: 307, headers: { location: `${to}/api/runner/jobs/${jobA}/complete` } },
      }),
  },
  {
    name: 'complete answers 500 in HTML',
    sends: '500 text/html, twice',
    intercept: ({ jobA }) =>
      onFirst(
        (request) => request.path.endsWith(`/jobs/${jobA}/complete`),
        { respond: { status: 500, body: html(500), headers: HTML } },
        2,
      ),
  },
  {
    name: 'long-poll never answered, then SIGTERM',
    sends: 'accepts the long-poll and never answers; the runner is sent SIGTERM',
    intercept: (context) => onFirst((request) => request.method === 'GET' && pollRoute(request.path), { takeOver: () => context.served() }),
    // A hung request must not keep a stopping runner alive: the first signal aborts the long-poll.
    after: async ({ runner, hostileServed }) => {
      await Promise.race([hostileServed, runner.exit]);
      runner.signal('SIGTERM');
    },
    runner: 0,
  },
  {
    name: 'long-poll never answered',
    sends: 'accepts the long-poll and never answers (the runner gives up after 60 s)',
    intercept: (context) => onFirst((request) => request.method === 'GET' && pollRoute(request.path), { takeOver: () => context.served() }),
    timeoutMs: 120_000,
    full: true,
  },
  {
    name: 'events POST never answered',
    sends: 'accepts the first batch and never answers (the runner gives up after 30 s)',
    agent: { entries: ['empty-line'], delayMs: 60 },
    intercept: (context) =>
      onFirst((request) => request.path.endsWith(`/jobs/${context.jobA}/events`), { takeOver: () => context.served() }),
    timeoutMs: 90_000,
    full: true,
  },
];

/** `npm test` leaves out the scenarios that are slow or that a combined scenario covers. */
const inThisRun = (scenario: Scenario) => FULL || !scenario.full;

describe('hostile input', () => {
  describe('hostile agent lines', () => {
    it.concurrent.for(agentScenarios.filter(inThisRun).map((scenario) => [scenario.name, scenario] as const))(
      '%s',
      { timeout: 240_000 },
      async ([, scenario], { expect }) => {
        expect((await runScenario(scenario)).problems).toEqual([]);
      },
    );
  });
  describe('hostile job fields', () => {
    it.concurrent.for(flagScenarios.filter(inThisRun).map((scenario) => [scenario.name, scenario] as const))(
      '%s',
      { timeout: 120_000 },
      async ([, scenario], { expect }) => {
        expect((await runScenario(scenario)).problems).toEqual([]);
      },
    );
  });
  describe('hostile leftovers', () => {
    it.concurrent.for(restartScenarios.filter(inThisRun).map((scenario) => [scenario.name, scenario] as const))(
      '%s',
      { timeout: 240_000 },
      async ([, scenario], { expect }) => {
        expect((await runScenario(scenario)).problems).toEqual([]);
      },
    );
  });
  describe('hostile control plane', () => {
    it.concurrent.for(serverScenarios.filter(inThisRun).map((scenario) => [scenario.name, scenario] as const))(
      '%s',
      { timeout: 240_000 },
      async ([, scenario], { expect }) => {
        expect((await runScenario(scenario)).problems).toEqual([]);
      },
    );
  });
});

async function runScenario(scenario: Scenario): Promise<Row> {
  const companyId = `hostile-${++company}`;
  const { token } = await server.admin.createToken({ companyId, name: scenario.name });
  // The agent counts what it printed in its workspace, the one place it may write in the sandbox; a restarted runner
  // finds the same workspace in the same work dir.
  const workDir = mkdtempSync(join(tmpdir(), 'hostile-work-'));
  const progressA = workspaceFile(workDir, 'hostile', 'a.json');
  const progressB = workspaceFile(workDir, 'hostile', 'b.json');
  const enqueue = (spec: AgentSpec & { progressFile: string }, extra: Partial<EnqueueJobInput> = {}) =>
    server.admin.enqueueJob({
      companyId,
      agentId: 'hostile',
      agentName: 'Hostile',
      prompt: JSON.stringify({ hugeLineBytes: HUGE_LINE_BYTES, ...spec }),
      ...extra,
    });
  const jobA = (await enqueue({ ...scenario.agent, progressFile: 'a.json' }, scenario.job)).jobId;
  const jobB = (await enqueue({ progressFile: 'b.json' })).jobId;

  let served!: () => void;
  let wasServed = false;
  const hostileServed = new Promise<void>((resolve) => (served = resolve)).then(() => void (wasServed = true));
  // Answers like a control plane that has work, so a runner that followed a redirect there would act on it.
  const elsewhere = await startRecordingProxy(server.url, ({ path }) => ({
    respond: {
      status: path.endsWith('/next') ? 200 : 204,
      body: path.endsWith('/next') ? JSON.stringify(descriptor('elsewhere-job')) : '',
    },
  }));
  const context: Context = { runnerPid: () => runner.child.pid, jobA, jobB, elsewhere: elsewhere.url, served, hostileServed };
  const proxy = await startRecordingProxy(server.url, scenario.intercept?.(context));
  const spoolDir = mkdtempSync(join(tmpdir(), 'hostile-spool-'));
  const finalCheck = scenario.prepare?.({ ...context, spoolDir, serverUrl: proxy.url });
  const env = {
    FOUNDEROS_RUNNER_TOKEN: token,
    FOUNDEROS_CLAUDE_BIN: HOSTILE_AGENT,
    FOUNDEROS_RUNNER_SPOOL_DIR: spoolDir,
    FOUNDEROS_RUNNER_WORK_DIR: workDir,
  };
  const start = () => new RunnerProcess(['start', `--server-url=${proxy.url}`], env);
  let runner: RunnerProcess = start();
  // Generous: a healthy scenario ends in seconds, but this machine is shared, and the time is only spent on a failure.
  const timeoutMs = scenario.timeoutMs ?? 60_000;
  const problems: string[] = [];
  const exited = (runnerProcess: RunnerProcess) => runnerProcess.child.exitCode !== null || runnerProcess.child.signalCode !== null;
  // One query for both jobs: many scenarios poll the one in-process database at once.
  const bothEnded = async () =>
    (await server.admin.listJobs({ companyId })).every((job) => ['completed', 'failed', 'cancelled'].includes(job.status));
  const settle = (runnerProcess: RunnerProcess) =>
    until(
      async () => exited(runnerProcess) || (await bothEnded()),
      timeoutMs,
      () => '',
      100,
    ).catch(() => undefined);

  try {
    if (scenario.after) await scenario.after({ ...context, runner });
    await settle(runner);
    let rssMb = peakRssMb(runner.child.pid);
    let runnerState: string;
    let nextStart = '-';
    const expectedRunner = scenario.runner ?? 'alive';
    if (exited(runner)) {
      const { code, signal } = await runner.exit;
      runnerState = code === null ? `${signal}` : `exit ${code}`;
      if (expectedRunner !== (code ?? signal))
        problems.push(
          `runner exited ${code ?? signal}${code === 1 ? ` (${lastLine(runner.stderr)})` : ''}, expected ${expectedRunner === 'alive' ? 'it to keep serving' : `exit ${expectedRunner}`}`,
        );
      // The next start, on the spool it left: it must settle what is there and serve, not exit again.
      runner = start();
      await settle(runner);
      rssMb = Math.max(rssMb, peakRssMb(runner.child.pid));
      nextStart = exited(runner) ? `exit ${(await runner.exit).code}` : 'ok';
      if (exited(runner)) problems.push(`the next start on the same spool exited ${(await runner.exit).code} (${lastLine(runner.stderr)})`);
    } else {
      if (expectedRunner !== 'alive') problems.push(`runner kept running, expected exit ${expectedRunner}`);
      runnerState = 'alive';
    }

    const [finalA, finalB] = await Promise.all([server.admin.getJob(jobA), server.admin.getJob(jobB)]);
    const eventsA = await storedEvents(server.admin, jobA);
    const eventsB = await storedEvents(server.admin, jobB);
    const printedA = progressOf(progressA);
    const printedB = progressOf(progressB);
    const markersA = numberedLines(eventsA, 'marker');
    const delivery = deliveryOf(markersA, printedA.markers);
    const deliveryB = deliveryOf(numberedLines(eventsB, 'marker'), printedB.markers);
    const hostile = hostileLines(eventsA, printedA);

    // B ran behind A on the same process: the runner still takes and finishes work.
    if (finalB.status !== 'completed' || deliveryB.lost || deliveryB.duplicates || printedB.markers === 0) {
      problems.push(
        `the next job ${finalB.status === 'completed' ? `lost ${deliveryB.lost} of its ${printedB.markers} markers` : `is ${finalB.status}`}${runnerState === 'alive' ? ' (runner alive but not serving)' : ''}`,
      );
      if (runnerState === 'alive') runnerState = 'stuck';
    }
    if (!['completed', 'failed', 'cancelled'].includes(finalA.status)) problems.push(`job A never ended: ${finalA.status}`);
    if (scenario.agentRuns !== false && printedA.markers === 0) problems.push('the agent never ran');
    if (delivery.duplicates) problems.push(`${delivery.duplicates} markers stored twice`);
    if (!delivery.inOrder) problems.push(`markers out of order: ${markersA.join(',')}`);
    if (scenario.lossAllowed && printedA.markers && !markersA.includes(printedA.markers - 1))
      problems.push('the lines after the refused batch never arrived');
    if (delivery.lost && !scenario.lossAllowed)
      problems.push(
        `${delivery.lost} of ${printedA.markers} markers lost (job ${finalA.status}: ${finalA.errorMessage ?? 'no error message'})`,
      );
    // A job that lost output is not a clean `completed`, and its message says that lines are missing.
    if (
      delivery.lost &&
      (finalA.status === 'completed' || !/not accepted|incomplete|lost|refused|set aside/i.test(finalA.errorMessage ?? ''))
    ) {
      problems.push(`${delivery.lost} markers lost, yet the job is ${finalA.status} with ${JSON.stringify(finalA.errorMessage)}`);
    }
    if (hostile.printed !== undefined && hostile.stored !== hostile.printed && !scenario.lossAllowed)
      problems.push(`${hostile.stored} of the ${hostile.printed} hostile lines stored`);
    const statusProblem =
      typeof scenario.status === 'function'
        ? scenario.status(finalA, eventsA)
        : finalA.status !== (scenario.status ?? (scenario.lossAllowed && delivery.lost ? finalA.status : 'completed'))
          ? `job A is ${finalA.status} (${finalA.errorMessage ?? 'no error message'}), expected ${scenario.status ?? 'completed'}`
          : undefined;
    if (statusProblem) problems.push(statusProblem);
    if (finalA.status === 'failed' && !finalA.errorMessage?.trim()) problems.push('job A failed without saying why');
    const checkProblem = scenario.check?.(finalA, eventsA);
    if (checkProblem) problems.push(checkProblem);
    if (scenario.mustServe && !wasServed) problems.push('the runner stopped asking before every hostile answer was served');
    const prepared = finalCheck?.();
    if (prepared) problems.push(prepared);

    const orphans = (await orphansOf(jobA)) + (await orphansOf(jobB));
    if (orphans) problems.push(`${orphans} agent processes left`);
    if (rssMb > MAX_RUNNER_RSS_MB) problems.push(`the runner's peak RSS was ${rssMb} MB`);
    const stray = strayRequests(proxy.recorded).concat(elsewhere.recorded.map((hit) => `${hit.method} ${hit.path} on another origin`));
    if (stray.length)
      problems.push(`stray requests: ${stray.slice(0, 3).join(', ')}${stray.length > 3 ? ` and ${stray.length - 3} more` : ''}`);

    // A runner that lives on is stopped as a user would; then what it leaves must not stop the next start.
    if (!exited(runner)) {
      runner.signal('SIGTERM');
      const stopped = await Promise.race([runner.exit, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5_000))]);
      if (!stopped) problems.push('the runner did not stop within 5 s of SIGTERM');
      else if (stopped.code !== 0) problems.push(`the runner exited ${stopped.code ?? stopped.signal} on SIGTERM`);
    }
    await runner.stop();
    if (nextStart === '-' && existsSync(spoolDir) && readdirSync(spoolDir).length > 0) {
      const next = start();
      const polls = proxy.recorded.length;
      await until(
        () => exited(next) || proxy.recorded.slice(polls).some((request) => pollRoute(request.path)),
        10_000,
        () => '',
      ).catch(() => undefined);
      nextStart = exited(next)
        ? `exit ${(await next.exit).code}`
        : proxy.recorded.slice(polls).some((request) => pollRoute(request.path))
          ? 'ok'
          : 'stuck';
      if (nextStart !== 'ok') problems.push(`the next start on the leftover spool: ${nextStart} (${lastLine(next.stderr)})`);
      await next.stop();
    }

    const row: Row = {
      scenario: scenario.name,
      sends: scenario.sends,
      printed: printedA.markers,
      delivered: delivery.delivered,
      duplicates: delivery.duplicates,
      lost: delivery.lost,
      hostileLines:
        printedA.markers === 0 || hostile.printed === 0
          ? '-'
          : hostile.printed === undefined
            ? '?'
            : `${hostile.stored}/${hostile.printed}`,
      status: finalA.status,
      runner: runnerState,
      orphans,
      stray: stray.length,
      nextStart,
      rssMb,
      problems,
    };
    rows.push(row);
    return row;
  } finally {
    await runner.stop();
    await proxy.close();
    await elsewhere.close();
    // The agent's output files can be 50 MB: leave nothing on a shared disk.
    for (const dir of [workDir, spoolDir]) rmSync(dir, { recursive: true, force: true });
  }
}

/** A descriptor as the long-poll answers it; the id is whatever the hostile server chooses. */
function descriptor(jobId: string) {
  return { jobId, agentId: 'agent-hostile', agentName: 'Hostile', createdAt: '2025-01-01T00:00:00.000Z' };
}

/** The first long-polls get `answers`, one each, in order; the ones after them reach the server. */
function pollsInTurn(
  answers: readonly { status: number; body: string | Buffer; headers?: Record<string, string> }[],
  context: Context,
): Interceptor {
  let next = 0;
  return (request) => {
    if (request.method !== 'GET' || !pollRoute(request.path) || next >= answers.length) return undefined;
    const { status, body, headers } = answers[next++]!;
    if (next === answers.length) context.served();
    return { respond: { status, body, headers } };
  };
}

/** Applies `decision` to the first `times` requests that match, then lets every request through. */
function onFirst(
  matches: (request: { method: string; path: string; body: string }) => boolean,
  decision: NonNullable<ReturnType<Interceptor>>,
  times = 1,
): Interceptor {
  let left = times;
  return (request) => (left > 0 && matches(request) ? (left--, decision) : undefined);
}

/** Lets the first matching request reach the server (so the job is really claimed), and replaces its answer's body. */
function onFirstAnswer(matches: (path: string) => boolean, body: (real: string) => string): Interceptor {
  return onFirst((request) => matches(request.path), { rewrite: (_status, real) => ({ status: 200, body: body(real) }) });
}

/** Every try of the job's first batch (a retry is the same bytes) gets `decision`; other batches pass. */
function sameBatchForever(jobId: string, decision: NonNullable<ReturnType<Interceptor>>): Interceptor {
  let first: string | undefined;
  return (request) => {
    if (!request.path.endsWith(`/jobs/${jobId}/events`)) return undefined;
    first ??= request.body;
    return request.body === first ? decision : undefined;
  };
}

/**
 * The first matching request gets a 200 whose body never ends: a JSON string opened and never closed, as fast as the
 * runner reads. Stops when the runner hangs up, or when it holds more than ENDLESS_RSS_CUTOFF_MB (a runner without a
 * size limit would otherwise take the shared machine's memory with it).
 */
function endless(
  matches: (request: { method: string; path: string }) => boolean,
  context: Context,
  options: { status?: number; forwardFirst?: boolean } = {},
): Interceptor {
  return onFirst(matches, {
    forwardFirst: options.forwardFirst,
    takeOver: (response: ServerResponse) => {
      context.served();
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      response.writeHead(options.status ?? 200, { 'content-type': 'application/json' });
      response.write('{"jobId":"');
      const pump = () => {
        while (!response.destroyed) {
          sent += chunk.length;
          if (sent % (64 * 1024 * 1024) === 0 && rssMb(context.runnerPid()) > ENDLESS_RSS_CUTOFF_MB) {
            response.destroy();
            return;
          }
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
      };
      pump();
    },
  });
}

/** Requests that left the protocol: a path that is not one of its routes (`..` resolved away), or a claim of a non-id. */
function strayRequests(recorded: readonly RecordedRequest[]): string[] {
  const route = /^\/api\/runner\/jobs\/(next|([^/?#]+)\/(claim|events|complete|heartbeat))$/;
  return recorded
    .filter(({ path }) => {
      const match = route.exec(path);
      if (!match) return true;
      const id = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
      return id !== undefined && ['undefined', 'null', '[object Object]', '42', '.', '..'].includes(id);
    })
    .map(({ method, path }) => `${method} ${abbreviate(path)}`);
}

interface Progress {
  markers: number;
  /** Hostile stdout lines and stderr lines printed, or about to be, when the file was written. */
  lines: number;
  stderrLines: number;
  /** What was printed before the last marker counted in `markers`: the lines surely between the first and that one. */
  framed: { lines: number; stderrLines: number };
}

function progressOf(file: string): Progress {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Progress;
  } catch {
    return { markers: 0, lines: 0, stderrLines: 0, framed: { lines: 0, stderrLines: 0 } };
  }
}

/**
 * How many of the hostile lines arrived: the stdout events strictly between the first and the last marker counted that
 * are not markers, against the lines the agent framed between them, and the stderr lines. A kill may fall after a
 * stderr line was counted and before it was written, so a count between the framed and the counted ones is whole.
 * Undefined when the first or last marker is missing (the markers then tell the story).
 */
function hostileLines(events: readonly StoredEvent[], printed: Progress): { stored: number; printed?: number } {
  const isMarker = (event: StoredEvent) => /^marker \d+$/.test(eventText(event) ?? '');
  const markerAt = (n: number) => events.findIndex((event) => eventText(event) === `marker ${n}`);
  const first = markerAt(0);
  const last = markerAt(printed.markers - 1);
  const stderr = events.filter((event) => event.kind === 'stderr_line').length;
  if (printed.markers === 0 || first < 0 || last < 0) return { stored: stderr };
  const between = events.slice(first + 1, last).filter((event) => event.kind !== 'stderr_line' && !isMarker(event)).length;
  const stderrPrinted = stderr >= printed.framed.stderrLines && stderr <= printed.stderrLines ? stderr : printed.framed.stderrLines;
  return { stored: between + stderr, printed: printed.framed.lines + stderrPrinted };
}

/** The completion carries the agent's session and `costMicros` (null: a cost that is not a cost is unknown, not 0). */
function costAndSession(costMicros: number | null) {
  return (job: JobDetail): string | undefined => {
    const problems: string[] = [];
    if (job.resultSessionId !== SESSION) problems.push(`session ${JSON.stringify(job.resultSessionId)}, expected ${SESSION}`);
    if (job.costMicros !== costMicros) problems.push(`costMicros ${job.costMicros}, expected ${costMicros}`);
    return problems.length ? problems.join(', ') : undefined;
  };
}

function abbreviate(text: string): string {
  const shown = JSON.stringify(text).slice(1, -1);
  return shown.length > 48 ? `${shown.slice(0, 45)}… (${text.length} chars)` : shown;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
}
