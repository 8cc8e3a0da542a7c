/**
 * `founderos-runner admin …`: the admin API from a shell, over HTTP (AdminClient). Text output is short and
 * readable; `--json` prints the API's JSON (one document; `jobs events` prints one JSON event per line).
 */
import { readFile } from 'node:fs/promises';
import { AdminClient } from '../../control-plane/admin-client.js';
import { eventLine, jobDetails, jobsTable, tokensTable } from './format.js';
import { escapeControls } from '../../protocol/escape-controls.js';
import { ADMIN_KEY_ENV, adminKeyFile, readAdminKeyFile } from '../../control-plane/admin-key.js';
import { formatFlags, numberFlag, parseFlags, type FlagDeclaration, type ParsedFlags } from '../args.js';
import { ConfigError, processIo, runCommand, type CliIo } from '../command.js';
import { commandLineSecretWarning, readSecretFile } from '../secret-file.js';
import { preview } from '../../runner/logger.js';
import { EXIT } from '../exit-codes.js';
import { ControlPlaneError } from '../../control-plane/errors.js';
import { DEFAULT_SERVER_URL, SERVER_URL_ENV, defaultServerDataDir } from '../../control-plane/paths.js';
import { TERMINAL_STATUSES, type AdminApi, type EnqueueJobInput, type JobStatus, type TokenInfo } from '../../control-plane/types.js';

const HELP_COMMAND = 'founderos-runner admin';
/** How long one `jobs events --follow` request waits for news before asking again. */
const FOLLOW_WAIT_MS = 25_000;

/** A flag of an admin command: the declaration that parses it, writes its `--help` line and its place in the usage line. */
interface CommandFlag extends FlagDeclaration {
  /** Must be given; the example is what the message suggests when it is not (`--company is required, e.g. --company=acme.`). */
  requiredExample?: string;
}

const value = (flag: string, placeholder: string, usage: string): CommandFlag => ({ flag, kind: 'value', placeholder, usage });
const toggle = (flag: string, usage: string): CommandFlag => ({ flag, kind: 'boolean', usage });
const required = (declaration: CommandFlag, example: string): CommandFlag => ({ ...declaration, requiredExample: example });

function globalFlags(env: NodeJS.ProcessEnv): FlagDeclaration[] {
  return [
    { ...value('server-url', 'URL', 'the control plane'), env: SERVER_URL_ENV, defaultText: DEFAULT_SERVER_URL },
    {
      ...value('admin-key', 'KEY', 'the admin key; prefer the variable or --admin-key-file: a flag is visible to every local user in ps'),
      env: ADMIN_KEY_ENV,
      defaultText: 'admin.key in --data-dir',
    },
    value('admin-key-file', 'PATH', "read the admin key from this file (yours, mode 600), e.g. the server's admin.key"),
    {
      ...value('data-dir', 'DIR', "the server's data dir, to read admin.key on the server's machine"),
      defaultText: defaultServerDataDir(env),
    },
    toggle('json', 'machine-readable output'),
  ];
}
const COMPANY = value('company', 'ID', 'the company');
const TTL = value('ttl', '90d|12h|…', "how long the new token works (default the server's: 90 days)");

interface CommandContext {
  api: AdminApi;
  serverUrl: string;
  flags: ParsedFlags;
  /** A flag the command declares required: checked before it runs, so it is there. */
  requiredFlag(name: string): string;
  /** The positional argument of the command's declared ones at `index`: their number is checked before it runs. */
  arg(index: number): string;
  json: boolean;
  out: (text: string) => void;
  /** Resolves once the output can take more (see CliIo.stdoutReady). */
  outReady: () => Promise<void>;
}

export interface AdminCommand {
  /** Positional argument names, e.g. ['<jobId>']. */
  args: string[];
  /** In the order the usage line shows them. */
  flags: readonly CommandFlag[];
  /** Flags of which exactly one must be given (the usage line shows them as `(--a <x> | --b <y>)`). */
  exactlyOneOf?: readonly string[];
  about: string;
  run(ctx: CommandContext): Promise<void>;
}

const print = (ctx: CommandContext, json: unknown, text: string) => ctx.out(ctx.json ? `${JSON.stringify(json, null, 2)}\n` : text);

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 24 * 3600 };

/** The flags a command was given that break its declared rules: a required flag missing, not exactly one of a group. */
function missingFlags(flags: ParsedFlags, command: AdminCommand): string[] {
  const problems = command.flags
    .filter((d) => d.requiredExample !== undefined && flags.str(d.flag) === undefined)
    .map((d) => `--${d.flag} is required, e.g. --${d.flag}=${d.requiredExample}.`);
  const group = command.exactlyOneOf ?? [];
  if (group.length > 0 && group.filter((flag) => flags.str(flag) !== undefined).length !== 1)
    problems.push(`give exactly one of ${exactlyOneOfWords(command).join(' or ')}.`);
  return problems;
}

/** A duration flag like 90d, 12h, 30m or 45s, in seconds; undefined when absent. */
function durationFlag(flags: ParsedFlags, name: string, example: string): number | undefined {
  const raw = flags.str(name);
  if (raw === undefined) return undefined;
  const [, amount, unit] = /^(\d{1,9})([smhd])$/.exec(raw) ?? [];
  const unitSec = unit && DURATION_UNITS[unit];
  if (!amount || !unitSec)
    throw new ConfigError(`--${name} must be a whole number followed by s, m, h or d (e.g. --${name}=${example}); got "${raw}".`);
  return Number(amount) * unitSec;
}

/** The bytes of the file a flag names; undefined when the flag is absent. */
async function readFlagFile(flags: ParsedFlags, name: string): Promise<Buffer | undefined> {
  const path = flags.str(name);
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(`cannot read --${name} ${path}: ${(err as Error).message}. Check the path.`);
  }
}

export const ADMIN_COMMANDS: Record<string, AdminCommand> = {
  'tokens create': {
    args: [],
    flags: [required(COMPANY, 'acme'), value('name', 'LABEL', 'a name to tell the token apart'), TTL],
    about:
      "Create a runner token for a company (it expires after --ttl, default the server's: 90 days). Printed once; only its hash is kept.",
    async run(ctx) {
      const created = await ctx.api.createToken({
        companyId: ctx.requiredFlag('company'),
        name: ctx.flags.str('name'),
        ttlSec: durationFlag(ctx.flags, 'ttl', '90d'),
      });
      print(ctx, created, newTokenText(ctx, created.token, created.info));
    },
  },
  'tokens rotate': {
    args: ['<tokenId>'],
    flags: [TTL, value('grace', '1h|…', 'how long the old token keeps working (default: revoked now)')],
    about:
      'Replace a token with a new one for the same company and name. The old one is revoked now, ' +
      'or with --grace keeps working that much longer (--grace 0s: expires now).',
    async run(ctx) {
      const rotated = await ctx.api.rotateToken({
        tokenId: ctx.arg(0),
        ttlSec: durationFlag(ctx.flags, 'ttl', '90d'),
        graceSec: durationFlag(ctx.flags, 'grace', '1h'),
      });
      const { previous } = rotated;
      const fate = previous.revokedAt ? 'is revoked' : `works until ${previous.expiresAt}`;
      print(
        ctx,
        rotated,
        `${newTokenText(ctx, rotated.token, rotated.info)}The old token ${previous.preview}… (id ${previous.tokenId}) ${fate}.\n`,
      );
    },
  },
  'tokens list': {
    args: [],
    flags: [COMPANY, toggle('all', 'include revoked tokens')],
    about: 'List tokens (--all includes revoked ones).',
    async run(ctx) {
      const tokens = await ctx.api.listTokens({ companyId: ctx.flags.str('company'), includeRevoked: ctx.flags.bool('all') });
      print(ctx, { tokens }, tokensTable(tokens));
    },
  },
  'tokens revoke': {
    args: ['<tokenId>'],
    flags: [],
    about: 'Revoke a token: its runner gets 401 on its next request.',
    async run(ctx) {
      const token = await ctx.api.revokeToken(ctx.arg(0));
      print(ctx, token, `Revoked token ${token.tokenId} (${token.preview}…, company ${token.companyId}).\n`);
    },
  },
  'jobs enqueue': {
    args: [],
    flags: [
      required(COMPANY, 'acme'),
      required(value('agent-name', 'NAME', "the agent's name"), 'Sarah'),
      value('prompt', 'TEXT', 'the prompt'),
      value('prompt-file', 'PATH', 'read the prompt from a file'),
      value('agent-id', 'ID', "the agent's id (default: derived from its name)"),
      value('adapter-type', 'TYPE', 'the agent CLI (default claude_local)'),
      value('model', 'M', 'the model'),
      value('max-turns', 'N', 'the most turns the agent takes'),
      value('timeout-sec', 'N', "ceiling on the job's run time"),
      value('session-id', 'ID', 'resume this session'),
      { flag: 'add-dir', kind: 'list', placeholder: 'DIR', usage: 'a directory the agent may use besides its own (repeatable)' },
      value('instructions-file', 'PATH', "a file of instructions for the agent's system prompt (sent as base64, byte for byte)"),
    ],
    exactlyOneOf: ['prompt', 'prompt-file'],
    about: "Queue a job for the company's runners.",
    async run(ctx) {
      const { flags } = ctx;
      const input: EnqueueJobInput = {
        companyId: ctx.requiredFlag('company'),
        agentName: ctx.requiredFlag('agent-name'),
        prompt: flags.str('prompt') ?? (await readFlagFile(flags, 'prompt-file'))?.toString('utf8') ?? '',
        agentId: flags.str('agent-id'),
        adapterType: flags.str('adapter-type'),
        model: flags.str('model'),
        maxTurns: numberFlag(flags, 'max-turns', { min: 1, integer: true }),
        timeoutSec: numberFlag(flags, 'timeout-sec', { min: 1, integer: true }),
        sessionId: flags.str('session-id'),
        addDirs: flags.list('add-dir'),
        // The protocol carries the instructions file as base64: its bytes arrive as they are, whatever their encoding.
        instructionsFileContent: (await readFlagFile(flags, 'instructions-file'))?.toString('base64'),
      };
      const job = await ctx.api.enqueueJob(input);
      print(ctx, job, `Queued job ${job.jobId} for agent ${job.agentName} (company ${job.companyId}).\n`);
    },
  },
  'jobs list': {
    args: [],
    flags: [value('status', 'STATUS', 'only jobs in this status'), COMPANY, value('limit', 'N', 'at most this many jobs')],
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
    flags: [],
    about: 'Show a job, its result and its event count.',
    async run(ctx) {
      const job = await ctx.api.getJob(ctx.arg(0));
      print(ctx, job, jobDetails(job));
    },
  },
  'jobs cancel': {
    args: ['<jobId>'],
    flags: [],
    about: 'Cancel a job; its runner stops at its next heartbeat or event batch.',
    async run(ctx) {
      const job = await ctx.api.cancelJob(ctx.arg(0));
      print(ctx, job, `Cancelled job ${job.jobId}.\n`);
    },
  },
  'jobs events': {
    args: ['<jobId>'],
    flags: [toggle('follow', 'keep printing new events until the job ends'), value('after', 'CURSOR', 'only events after this cursor')],
    about: "Print a job's events; --follow waits for more until the job ends. --json: one JSON event per line.",
    async run(ctx) {
      const jobId = ctx.arg(0);
      const follow = ctx.flags.bool('follow');
      let after = ctx.flags.str('after');
      let status: JobStatus;
      for (;;) {
        const page = await ctx.api.listEvents(jobId, { after, waitMs: follow ? FOLLOW_WAIT_MS : 0 });
        for (const event of page.events) ctx.out(ctx.json ? `${JSON.stringify(event)}\n` : eventLine(event));
        // The next page only once this one is on its way: a slow reader must not make the CLI hold the transcript.
        await ctx.outReady();
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

/** How one flag stands in a usage line: `--company <id>`, `--all`. */
function flagWords(declaration: FlagDeclaration): string {
  return declaration.kind === 'boolean'
    ? `--${declaration.flag}`
    : `--${declaration.flag} <${(declaration.placeholder ?? 'value').toLowerCase()}>`;
}

/** The flags of which a command takes exactly one, as usage shows each. */
function exactlyOneOfWords(command: AdminCommand): string[] {
  const group = command.exactlyOneOf ?? [];
  return command.flags.filter((declaration) => group.includes(declaration.flag)).map(flagWords);
}

/** A usage line breaks before it grows longer than this; it goes on indented so. */
const USAGE_WIDTH = 110;
const CONTINUATION = '      ';

/**
 * What follows the command words in its usage line, written from its declarations: the arguments, the required
 * flags bare, the exactly-one group in parentheses, the others in brackets (`...` when repeatable); wrapped.
 */
function commandSummary(name: string, command: AdminCommand): string {
  const words = [...command.args];
  const group = command.exactlyOneOf ?? [];
  for (const declaration of command.flags) {
    if (group.includes(declaration.flag)) {
      if (declaration.flag !== group[0]) continue;
      words.push(`(${exactlyOneOfWords(command).join(' | ')})`);
    } else if (declaration.requiredExample !== undefined) words.push(flagWords(declaration));
    else words.push(`[${flagWords(declaration)}]${declaration.kind === 'list' ? '...' : ''}`);
  }
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const indent = lines.length === 0 ? `  ${name} ` : CONTINUATION;
    if (line !== '' && `${indent}${line} ${word}`.length > USAGE_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${CONTINUATION}`);
}

/** `founderos-runner admin --help`: every command with its usage line, then the flags every command takes. */
export function adminHelp(env: NodeJS.ProcessEnv): string {
  const lines = Object.entries(ADMIN_COMMANDS).map(([name, cmd]) => `  ${name} ${commandSummary(name, cmd)}\n      ${cmd.about}`);
  return [
    `Usage: ${HELP_COMMAND} <command> [flags]`,
    '',
    'Commands:',
    ...lines,
    '',
    'Flags for every command:',
    formatFlags(globalFlags(env)),
    '',
  ].join('\n');
}

/** `founderos-runner admin <command> --help`: its usage line, what it does, its flags, then those of every command. */
export function adminCommandHelp(name: string, command: AdminCommand, env: NodeJS.ProcessEnv): string {
  const own = command.flags.length > 0 ? `${formatFlags(command.flags)}\n\n` : '';
  return (
    `Usage: ${HELP_COMMAND} ${name} ${commandSummary(name, command)}\n\n${command.about}\n\n` +
    `${own}Flags for every command:\n${formatFlags(globalFlags(env))}\n`
  );
}

const ADMIN_KEY_KIND = { name: 'admin key', pattern: /^\S+$/, shape: 'the admin key (one word)' };

/** The admin key, from (in this order) --admin-key, --admin-key-file, the environment, or admin.key in the data dir. */
async function resolveAdminKey(flags: ParsedFlags, env: NodeJS.ProcessEnv, io: CliIo): Promise<string> {
  const direct = flags.str('admin-key');
  const file = flags.str('admin-key-file');
  if (direct !== undefined && file !== undefined) throw new ConfigError('give --admin-key or --admin-key-file, not both.');
  if (direct !== undefined) {
    const warning = commandLineSecretWarning({
      what: `the admin key (${preview(direct)})`,
      flag: 'admin-key',
      instead: `set ${ADMIN_KEY_ENV} in the environment instead, or put it in a file only you can read and pass --admin-key-file=PATH`,
    });
    io.stderr(`${HELP_COMMAND}: warning: ${warning}\n`);
    return direct;
  }
  if (file !== undefined) {
    const read = readSecretFile(file, ADMIN_KEY_KIND);
    if ('problem' in read) throw new ConfigError(read.problem);
    return read.secret;
  }
  const dataDir = flags.str('data-dir') ?? defaultServerDataDir(env);
  const key = env[ADMIN_KEY_ENV]?.trim() || (await readAdminKeyFile(dataDir).catch(() => undefined));
  if (key === undefined || key === '') {
    throw new ConfigError(
      `no admin key: set ${ADMIN_KEY_ENV}, pass --admin-key-file, or run this where the server keeps ${adminKeyFile(dataDir)} (see --data-dir).`,
    );
  }
  return key;
}

async function resolveConnection(flags: ParsedFlags, io: CliIo): Promise<{ serverUrl: string; adminKey: string }> {
  const serverUrl = flags.str('server-url') ?? io.env[SERVER_URL_ENV] ?? DEFAULT_SERVER_URL;
  if (!/^https?:\/\/[^/]/.test(serverUrl)) {
    throw new ConfigError(`--server-url must be an http(s) URL like ${DEFAULT_SERVER_URL}; got "${serverUrl}".`);
  }
  return { serverUrl, adminKey: await resolveAdminKey(flags, io.env, io) };
}

/** `founderos-runner admin <group> <verb> …`; resolves to the exit code (0 ok, 1 failed, 2 usage). */
export function runAdminCommand(argv: string[], rawIo: CliIo = processIo()): Promise<number> {
  // Every byte printed passes here: whatever a formatter missed, no control character from the server (an agent's
  // escape sequence, a runner's field) reaches the terminal. Formatters escape fields themselves, newlines too.
  const io: CliIo = {
    ...rawIo,
    stdout: (text) => rawIo.stdout(escapeControls(text, true)),
    stderr: (text) => rawIo.stderr(escapeControls(text, true)),
  };
  return runCommand(HELP_COMMAND, io, () => admin(argv, io));
}

async function admin(argv: string[], io: CliIo): Promise<number> {
  const global = globalFlags(io.env);
  // First pass with every command's flags declared (all repeatable), only to find the command words wherever
  // the flags are; the second pass below checks the flags against that one command.
  const loose = parseFlags(argv, [...global, ...Object.values(ADMIN_COMMANDS).flatMap((c) => c.flags)], HELP_COMMAND, true);
  const json = loose.bool('json');
  const name = loose.positionals.slice(0, 2).join(' ');
  const command = ADMIN_COMMANDS[name];
  if (!command) {
    if (loose.bool('help') || loose.positionals.length === 0) {
      (loose.bool('help') ? io.stdout : io.stderr)(adminHelp(io.env));
      return loose.bool('help') ? EXIT.ok : EXIT.config;
    }
    throw new ConfigError(`unknown command "${loose.positionals.join(' ')}". Commands: ${Object.keys(ADMIN_COMMANDS).join(', ')}.`);
  }
  if (loose.bool('help')) {
    io.stdout(adminCommandHelp(name, command, io.env));
    return EXIT.ok;
  }
  const flags = parseFlags(argv, [...global, ...command.flags], `${HELP_COMMAND} ${name}`);
  const args = flags.positionals.slice(2);
  if (args.length !== command.args.length) {
    const expected = command.args.length === 0 ? 'no arguments' : command.args.join(' ');
    throw new ConfigError(`"${name}" takes ${expected}; got ${args.length === 0 ? 'none' : args.map((a) => `"${a}"`).join(' ')}.`);
  }
  const missing = missingFlags(flags, command);
  if (missing.length > 0) throw new ConfigError(missing);
  const { serverUrl, adminKey } = await resolveConnection(flags, io);
  const api = new AdminClient({ serverUrl, adminKey });
  try {
    const outReady = () => io.stdoutReady?.() ?? Promise.resolve();
    const checked = (value: string | undefined, what: string) => {
      if (value === undefined) throw new Error(`"${name}" ran without ${what}, which its declarations make it take`);
      return value;
    };
    const requiredFlag = (flag: string) => checked(flags.str(flag), `--${flag}`);
    const arg = (index: number) => checked(args[index], command.args[index] ?? `argument ${index + 1}`);
    await command.run({ api, serverUrl, flags, requiredFlag, arg, json, out: io.stdout, outReady });
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof ControlPlaneError)) throw err;
    io.stderr(
      json
        ? `${JSON.stringify({ error: err.code, message: err.message, status: err.status, requestId: err.requestId })}\n`
        : `${HELP_COMMAND}: ${err.message}${err.requestId ? ` (${err.code}, requestId ${err.requestId})` : ''}\n`,
    );
    return err.status === 400 ? EXIT.config : EXIT.failure;
  }
}
