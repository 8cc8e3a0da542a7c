/**
 * `founderos-runner admin …`: the admin API from a shell, over HTTP (AdminClient). Text output is short and
 * readable; `--json` prints the API's JSON (one document; `jobs events` prints one JSON event per line).
 */
import { readFile } from 'node:fs/promises';
import { AdminClient } from './admin-client.js';
import { escapeControls, eventLine, jobDetails, jobsTable, tokensTable } from './admin-cli-format.js';
import { ADMIN_KEY_ENV, adminKeyFile, readAdminKeyFile } from './admin-key.js';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  mergeSpecs,
  numberFlag,
  parseFlags,
  processIo,
  UsageError,
  type CliIo,
  type FlagSpec,
  type ParsedFlags,
} from './cli-args.js';
import { ControlPlaneError } from './errors.js';
import { DEFAULT_SERVER_URL, SERVER_URL_ENV, defaultServerDataDir } from './paths.js';
import { TERMINAL_STATUSES, type AdminApi, type EnqueueJobInput, type JobStatus, type TokenInfo } from './types.js';

const HELP_COMMAND = 'founderos-runner admin';
/** How long one `jobs events --follow` request waits for news before asking again. */
const FOLLOW_WAIT_MS = 25_000;

const GLOBAL_FLAGS: FlagSpec = { string: ['server-url', 'admin-key', 'data-dir'], boolean: ['json'] };

interface CommandContext {
  api: AdminApi;
  serverUrl: string;
  flags: ParsedFlags;
  args: string[];
  json: boolean;
  out: (text: string) => void;
}

interface Command {
  /** Positional argument names, e.g. ['<jobId>']. */
  args: string[];
  flags: FlagSpec;
  /** What follows the command words in the usage line. */
  usage: string;
  about: string;
  run(ctx: CommandContext): Promise<void>;
}

const print = (ctx: CommandContext, json: unknown, text: string) => ctx.out(ctx.json ? `${JSON.stringify(json, null, 2)}\n` : text);

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 24 * 3600 };

/** A duration flag like 90d, 12h, 30m or 45s, in seconds; undefined when absent. */
function durationFlag(flags: ParsedFlags, name: string, example: string): number | undefined {
  const raw = flags.str(name);
  if (raw === undefined) return undefined;
  const match = /^(\d{1,9})([smhd])$/.exec(raw);
  if (!match) throw new UsageError(`--${name} must be a whole number followed by s, m, h or d (e.g. --${name}=${example}); got "${raw}".`);
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}
function required(flags: ParsedFlags, name: string, example: string): string {
  const value = flags.str(name);
  if (value === undefined) throw new UsageError(`--${name} is required, e.g. --${name}=${example}.`);
  return value;
}

async function readFlagFile(flags: ParsedFlags, name: string): Promise<string | undefined> {
  const path = flags.str(name);
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --${name} ${path}: ${(err as Error).message}. Check the path.`);
  }
}

const COMMANDS: Record<string, Command> = {
  'tokens create': {
    args: [],
    flags: { string: ['company', 'name', 'ttl'] },
    usage: '--company <id> [--name <label>] [--ttl <90d|12h|…>]',
    about: 'Create a runner token for a company (it expires after --ttl, default the server\'s: 90 days). Printed once; only its hash is kept.',
    async run(ctx) {
      const created = await ctx.api.createToken({
        companyId: required(ctx.flags, 'company', 'acme'),
        name: ctx.flags.str('name'),
        ttlSec: durationFlag(ctx.flags, 'ttl', '90d'),
      });
      print(ctx, created, newTokenText(ctx, created.token, created.info));
    },
  },
  'tokens rotate': {
    args: ['<tokenId>'],
    flags: { string: ['ttl', 'grace'] },
    usage: '<tokenId> [--ttl <90d|…>] [--grace <1h|…>]',
    about:
      'Replace a token with a new one for the same company and name. The old one is revoked now, or with --grace keeps working that much longer (--grace 0s: expires now).',
    async run(ctx) {
      const rotated = await ctx.api.rotateToken({
        tokenId: ctx.args[0]!,
        ttlSec: durationFlag(ctx.flags, 'ttl', '90d'),
        graceSec: durationFlag(ctx.flags, 'grace', '1h'),
      });
      const { previous } = rotated;
      const fate = previous.revokedAt ? 'is revoked' : `works until ${previous.expiresAt}`;
      print(ctx, rotated, `${newTokenText(ctx, rotated.token, rotated.info)}The old token ${previous.preview}… (id ${previous.tokenId}) ${fate}.\n`);
    },
  },
  'tokens list': {
    args: [],
    flags: { string: ['company'], boolean: ['all'] },
    usage: '[--company <id>] [--all]',
    about: 'List tokens (--all includes revoked ones).',
    async run(ctx) {
      const tokens = await ctx.api.listTokens({ companyId: ctx.flags.str('company'), includeRevoked: ctx.flags.bool('all') });
      print(ctx, { tokens }, tokensTable(tokens));
    },
  },
  'tokens revoke': {
    args: ['<tokenId>'],
    flags: {},
    usage: '<tokenId>',
    about: 'Revoke a token: its runner gets 401 on its next request.',
    async run(ctx) {
      const token = await ctx.api.revokeToken(ctx.args[0]!);
      print(ctx, token, `Revoked token ${token.tokenId} (${token.preview}…, company ${token.companyId}).\n`);
    },
  },
  'jobs enqueue': {
    args: [],
    flags: {
      string: ['company', 'agent-name', 'agent-id', 'prompt', 'prompt-file', 'adapter-type', 'model', 'max-turns', 'timeout-sec', 'session-id', 'instructions-file'],
      repeatable: ['add-dir'],
    },
    usage:
      '--company <id> --agent-name <name> (--prompt <text> | --prompt-file <path>) [--agent-id <id>]\n' +
      '      [--adapter-type <type>] [--model <m>] [--max-turns <n>] [--timeout-sec <n>] [--session-id <id>]\n' +
      '      [--add-dir <dir>]... [--instructions-file <path>]',
    about: 'Queue a job for the company\'s runners.',
    async run(ctx) {
      const { flags } = ctx;
      if ((flags.str('prompt') === undefined) === (flags.str('prompt-file') === undefined)) {
        throw new UsageError('give the prompt with exactly one of --prompt <text> or --prompt-file <path>.');
      }
      const input: EnqueueJobInput = {
        companyId: required(flags, 'company', 'acme'),
        agentName: required(flags, 'agent-name', 'Sarah'),
        prompt: flags.str('prompt') ?? (await readFlagFile(flags, 'prompt-file'))!,
        agentId: flags.str('agent-id'),
        adapterType: flags.str('adapter-type'),
        model: flags.str('model'),
        maxTurns: numberFlag(flags, 'max-turns', { min: 1, integer: true }),
        timeoutSec: numberFlag(flags, 'timeout-sec', { min: 1, integer: true }),
        sessionId: flags.str('session-id'),
        addDirs: flags.list('add-dir'),
        instructionsFileContent: await readFlagFile(flags, 'instructions-file'),
      };
      const job = await ctx.api.enqueueJob(input);
      print(ctx, job, `Queued job ${job.jobId} for agent ${job.agentName} (company ${job.companyId}).\n`);
    },
  },
  'jobs list': {
    args: [],
    flags: { string: ['status', 'company', 'limit'] },
    usage: '[--status <status>] [--company <id>] [--limit <n>]',
    about: 'List jobs, newest first.',
    async run(ctx) {
      const jobs = await ctx.api.listJobs({
        status: ctx.flags.str('status') as JobStatus | undefined,
        companyId: ctx.flags.str('company'),
        limit: numberFlag(ctx.flags, 'limit', { min: 1, max: 1000, integer: true }),
      });
      print(ctx, { jobs }, jobsTable(jobs));
    },
  },
  'jobs show': {
    args: ['<jobId>'],
    flags: {},
    usage: '<jobId>',
    about: 'Show a job, its result and its event count.',
    async run(ctx) {
      const job = await ctx.api.getJob(ctx.args[0]!);
      print(ctx, job, jobDetails(job));
    },
  },
  'jobs cancel': {
    args: ['<jobId>'],
    flags: {},
    usage: '<jobId>',
    about: 'Cancel a job; its runner stops at its next heartbeat or event batch.',
    async run(ctx) {
      const job = await ctx.api.cancelJob(ctx.args[0]!);
      print(ctx, job, `Cancelled job ${job.jobId}.\n`);
    },
  },
  'jobs events': {
    args: ['<jobId>'],
    flags: { string: ['after'], boolean: ['follow'] },
    usage: '<jobId> [--follow] [--after <cursor>]',
    about: 'Print a job\'s events; --follow waits for more until the job ends. --json: one JSON event per line.',
    async run(ctx) {
      const jobId = ctx.args[0]!;
      const follow = ctx.flags.bool('follow');
      let after = ctx.flags.str('after');
      let status: JobStatus;
      for (;;) {
        const page = await ctx.api.listEvents(jobId, { after, waitMs: follow ? FOLLOW_WAIT_MS : 0 });
        for (const event of page.events) ctx.out(ctx.json ? `${JSON.stringify(event)}\n` : eventLine(event));
        after = page.nextCursor;
        status = page.jobStatus;
        const finished = page.events.length === 0 && (!follow || TERMINAL_STATUSES.includes(status));
        if (finished) break;
      }
      if (follow && !ctx.json) ctx.out(`-- job ${jobId} is ${status}\n`);
    },
  },
};

function newTokenText(ctx: CommandContext, token: string, info: TokenInfo): string {
  return (
    `Runner token for company ${info.companyId} (id ${info.tokenId}, expires ${info.expiresAt}):\n${token}\n` +
    `It is shown only this once; store it now. Start a runner with it in FOUNDEROS_RUNNER_TOKEN and --server-url=${ctx.serverUrl}\n`
  );
}

function usage(env: NodeJS.ProcessEnv): string {
  const lines = Object.entries(COMMANDS).map(([name, cmd]) => `  ${name} ${cmd.usage}\n      ${cmd.about}`);
  return [
    `Usage: ${HELP_COMMAND} <command> [flags]`,
    '',
    'Commands:',
    ...lines,
    '',
    'Flags for every command:',
    `  --server-url <url>   the control plane (env ${SERVER_URL_ENV}; default ${DEFAULT_SERVER_URL})`,
    `  --admin-key <key>    the admin key (env ${ADMIN_KEY_ENV}; default: admin.key in --data-dir)`,
    `  --data-dir <dir>     the server's data dir, to read admin.key on the server's machine (default ${defaultServerDataDir(env)})`,
    '  --json               machine-readable output',
    '',
  ].join('\n');
}

async function resolveConnection(flags: ParsedFlags, env: NodeJS.ProcessEnv): Promise<{ serverUrl: string; adminKey: string }> {
  const serverUrl = flags.str('server-url') ?? env[SERVER_URL_ENV] ?? DEFAULT_SERVER_URL;
  if (!/^https?:\/\/[^/]/.test(serverUrl)) {
    throw new UsageError(`--server-url must be an http(s) URL like ${DEFAULT_SERVER_URL}; got "${serverUrl}".`);
  }
  const dataDir = flags.str('data-dir') ?? defaultServerDataDir(env);
  const adminKey = flags.str('admin-key') ?? env[ADMIN_KEY_ENV]?.trim() ?? (await readAdminKeyFile(dataDir).catch(() => undefined));
  if (adminKey === undefined || adminKey === '') {
    throw new UsageError(
      `no admin key: pass --admin-key, set ${ADMIN_KEY_ENV}, or run this where the server keeps ${adminKeyFile(dataDir)} (see --data-dir).`,
    );
  }
  return { serverUrl, adminKey };
}

/** `founderos-runner admin <group> <verb> …`; resolves to the exit code (0 ok, 1 failed, 2 usage). */
export async function runAdminCommand(argv: string[], rawIo: CliIo = processIo): Promise<number> {
  // Every byte printed passes here: whatever a formatter missed, no control character from the server (an agent's
  // escape sequence, a runner's field) reaches the terminal. Formatters escape fields themselves, newlines too.
  const io: CliIo = {
    env: rawIo.env,
    stdout: (text) => rawIo.stdout(escapeControls(text, true)),
    stderr: (text) => rawIo.stderr(escapeControls(text, true)),
  };
  let json = false;
  try {
    // First pass with every command's flags declared (all repeatable), only to find the command words wherever
    // the flags are; the second pass below checks the flags against that one command.
    const all = mergeSpecs(GLOBAL_FLAGS, ...Object.values(COMMANDS).map((c) => c.flags));
    const loose = parseFlags(argv, { boolean: all.boolean, repeatable: [...all.string!, ...all.repeatable!] }, HELP_COMMAND);
    json = loose.bool('json');
    const name = loose.positionals.slice(0, 2).join(' ');
    const command = COMMANDS[name];
    if (!command) {
      if (loose.bool('help') || loose.positionals.length === 0) {
        (loose.bool('help') ? io.stdout : io.stderr)(usage(io.env));
        return loose.bool('help') ? EXIT_OK : EXIT_USAGE;
      }
      throw new UsageError(`unknown command "${loose.positionals.join(' ')}". Commands: ${Object.keys(COMMANDS).join(', ')}.`);
    }
    if (loose.bool('help')) {
      io.stdout(
        `Usage: ${HELP_COMMAND} ${name} ${command.usage}\n\n${command.about}\n` +
          `Also: --server-url, --admin-key, --data-dir, --json (see "${HELP_COMMAND} --help").\n`,
      );
      return EXIT_OK;
    }
    const flags = parseFlags(argv, mergeSpecs(GLOBAL_FLAGS, command.flags), `${HELP_COMMAND} ${name}`);
    const args = flags.positionals.slice(2);
    if (args.length !== command.args.length) {
      const expected = command.args.length === 0 ? 'no arguments' : command.args.join(' ');
      throw new UsageError(`"${name}" takes ${expected}; got ${args.length === 0 ? 'none' : args.map((a) => `"${a}"`).join(' ')}.`);
    }
    const { serverUrl, adminKey } = await resolveConnection(flags, io.env);
    const api = new AdminClient({ serverUrl, adminKey });
    await command.run({ api, serverUrl, flags, args, json, out: io.stdout });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${HELP_COMMAND}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ControlPlaneError) {
      io.stderr(
        json
          ? `${JSON.stringify({ error: err.code, message: err.message, status: err.status, requestId: err.requestId })}\n`
          : `${HELP_COMMAND}: ${err.message}${err.requestId ? ` (${err.code}, requestId ${err.requestId})` : ''}\n`,
      );
      return err.status === 400 ? EXIT_USAGE : EXIT_FAILURE;
    }
    throw err;
  }
}
