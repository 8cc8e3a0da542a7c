/**
 * `founderos-runner server`: run the reference control plane until SIGINT/SIGTERM, then close it cleanly.
 */
import { ADMIN_KEY_ENV } from '../control-plane/admin-key.js';
import { formatFlags, numberFlag, parseFlags, type FlagDeclaration, type ParsedFlags } from './args.js';
import { ConfigError, processIo, runCommand, type CliIo } from './command.js';
import { EXIT } from './exit-codes.js';
import {
  DEFAULT_MAX_LONG_POLL_MS,
  DEFAULT_MAX_POLLS_PER_TOKEN,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
} from '../control-plane/control-plane.js';
import { DEFAULT_SERVER_PORT, defaultServerDataDir } from '../control-plane/paths.js';
import { guardProcess } from '../control-plane/process-guard.js';
import { escapeControls } from '../protocol/escape-controls.js';
import { isLoopback } from './loopback.js';
import { commandLineSecretWarning } from './secret-file.js';

const HELP_COMMAND = 'founderos-runner server';
export const TOKEN_TTL_DAYS_ENV = 'FOUNDEROS_TOKEN_TTL_DAYS';

function serverFlags(env: NodeJS.ProcessEnv): FlagDeclaration[] {
  return [
    { flag: 'host', kind: 'value', placeholder: 'ADDR', defaultText: '127.0.0.1', usage: 'listen address (0.0.0.0 for other machines)' },
    { flag: 'port', kind: 'value', placeholder: 'N', defaultText: String(DEFAULT_SERVER_PORT), usage: 'port (0 picks a free one)' },
    {
      flag: 'data-dir',
      kind: 'value',
      placeholder: 'DIR',
      defaultText: defaultServerDataDir(env),
      usage: 'state: PGlite database and admin.key',
    },
    {
      flag: 'database-url',
      kind: 'value',
      placeholder: 'URL',
      env: 'DATABASE_URL',
      usage: 'postgres://… : use PostgreSQL instead of PGlite',
    },
    { flag: 'long-poll-sec', kind: 'value', placeholder: 'N', defaultText: '30', usage: 'how long GET /jobs/next waits for work' },
    {
      flag: 'long-poll-max-sec',
      kind: 'value',
      placeholder: 'N',
      defaultText: `${DEFAULT_MAX_LONG_POLL_MS / 1000}, or --long-poll-sec when that is below 30`,
      usage: 'the longest a runner may ask GET /jobs/next to wait (Prefer: wait=N); waiting longer, it polls less often',
    },
    {
      flag: 'max-polls-per-token',
      kind: 'value',
      placeholder: 'N',
      defaultText: String(DEFAULT_MAX_POLLS_PER_TOKEN),
      usage: 'waiting GET /jobs/next one runner token may hold at once; past it: 429 with Retry-After',
    },
    {
      flag: 'lease-sec',
      kind: 'value',
      placeholder: 'N',
      defaultText: '60',
      usage: 'a job whose runner sends heartbeats is lost after this long without one or an event batch',
    },
    {
      flag: 'part1-job-limit-sec',
      kind: 'value',
      placeholder: 'N',
      defaultText: '1800',
      usage:
        'a job whose runner never sent a heartbeat (Part 1 of the protocol) is lost this long after queueing, unless events keep coming',
    },
    {
      flag: 'on-lease-expiry',
      kind: 'value',
      placeholder: 'fail|requeue',
      defaultText: 'fail: "runner lost"',
      usage: 'what happens to a lost job',
    },
    {
      flag: 'token-ttl-days',
      kind: 'value',
      placeholder: 'N',
      env: TOKEN_TTL_DAYS_ENV,
      defaultText: '90',
      usage: 'new runner tokens expire after this many days',
    },
    {
      flag: 'max-job-events-mb',
      kind: 'value',
      placeholder: 'N',
      defaultText: '1024',
      usage: "the most a job's events may take; past it batches are refused (413) and the job reports its transcript incomplete",
    },
    {
      flag: 'max-connections',
      kind: 'value',
      placeholder: 'N',
      defaultText: 'below ulimit -n, at most 32768',
      usage: 'connections held at once; past it idle ones are closed first, then new ones get 503',
    },
    { flag: 'ui', kind: 'boolean', onByDefault: true, usage: 'do not serve the web dashboard at /' },
  ];
}

function usage(env: NodeJS.ProcessEnv): string {
  return `Usage: ${HELP_COMMAND} [flags]

Runs the reference control plane: runners long-poll it for jobs; "founderos-runner admin" manages it.

${formatFlags(serverFlags(env))}
`;
}

/** What the operator should know before the server listens: secrets on the command line, the admin login in clear text. */
function startWarnings(flags: ParsedFlags, host: string): string[] {
  const warnings: string[] = [];
  const databaseUrl = flags.str('database-url');
  if (databaseUrl !== undefined && /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(databaseUrl)) {
    warnings.push(
      commandLineSecretWarning({
        what: 'a database password',
        flag: 'database-url',
        instead: 'set DATABASE_URL in the environment instead, or leave the password out of the URL and use PGPASSWORD or ~/.pgpass',
      }),
    );
  }
  if (!isLoopback(host)) {
    warnings.push(
      `listening on ${host} over plain http: the admin key (dashboard login, admin API) and runner tokens cross the network ` +
        'in clear text; put an https reverse proxy in front of the server and keep it on 127.0.0.1 behind it',
    );
  }
  return warnings;
}

const megabytes = (mb: number | undefined) => (mb === undefined ? undefined : mb * 1024 * 1024);

function parseServerArgs(argv: string[], env: NodeJS.ProcessEnv): { options: ControlPlaneOptions; warnings: string[] } | 'help' {
  const flags = parseFlags(argv, serverFlags(env), HELP_COMMAND);
  if (flags.bool('help')) return 'help';
  if (flags.positionals.length > 0) {
    throw new ConfigError(
      `"server" takes no arguments; got ${flags.positionals.map((p) => `"${p}"`).join(' ')}. Run "${HELP_COMMAND} --help".`,
    );
  }
  const onLeaseExpiry = flags.str('on-lease-expiry') ?? 'fail';
  if (onLeaseExpiry !== 'fail' && onLeaseExpiry !== 'requeue') {
    throw new ConfigError(`--on-lease-expiry must be fail or requeue; got "${onLeaseExpiry}".`);
  }
  const seconds = (name: string, max = 3600) => {
    const value = numberFlag(flags, name, { min: 0, exclusiveMin: true, max });
    return value === undefined ? undefined : Math.round(value * 1000);
  };
  const ttlFromEnv = env[TOKEN_TTL_DAYS_ENV];
  if (flags.str('token-ttl-days') === undefined && ttlFromEnv !== undefined && ttlFromEnv !== '' && !/^\d+(\.\d+)?$/.test(ttlFromEnv)) {
    throw new ConfigError(`${TOKEN_TTL_DAYS_ENV} must be a number of days, like 90; got "${ttlFromEnv}".`);
  }
  const tokenTtlDays =
    numberFlag(flags, 'token-ttl-days', { min: 0, exclusiveMin: true, max: 3650 }) ?? (ttlFromEnv ? Number(ttlFromEnv) : undefined);
  const databaseUrl = flags.str('database-url') ?? (env.DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      `--database-url (or DATABASE_URL) must start with postgres:// or postgresql://; leave it out to use the embedded database.`,
    );
  }
  const host = flags.str('host') ?? '127.0.0.1';
  const options: ControlPlaneOptions = {
    host,
    port: numberFlag(flags, 'port', { min: 0, max: 65535, integer: true }) ?? DEFAULT_SERVER_PORT,
    dataDir: flags.str('data-dir') ?? defaultServerDataDir(env),
    databaseUrl,
    longPollMs: seconds('long-poll-sec'),
    maxLongPollMs: seconds('long-poll-max-sec'),
    maxPollsPerToken: numberFlag(flags, 'max-polls-per-token', { min: 1, max: 1_000_000, integer: true }),
    leaseMs: seconds('lease-sec'),
    part1JobLimitMs: seconds('part1-job-limit-sec', 24 * 3600),
    onLeaseExpiry,
    tokenTtlDays,
    maxConnections: numberFlag(flags, 'max-connections', { min: 1, max: 1_000_000, integer: true }),
    maxJobEventBytes: megabytes(numberFlag(flags, 'max-job-events-mb', { min: 1, max: 1024 * 1024, integer: true })),
    ui: flags.bool('ui'),
  };
  return { options, warnings: startWarnings(flags, host) };
}

function describeAdminKey(plane: ControlPlane): string {
  switch (plane.adminKeySource) {
    case 'env':
      return `from ${ADMIN_KEY_ENV}`;
    case 'new-file':
      return `created in ${plane.adminKeyFile} (the admin CLI on this machine reads it from there)`;
    case 'file':
      return `in ${plane.adminKeyFile} (the admin CLI on this machine reads it from there)`;
    default:
      return 'given by the caller';
  }
}

function waitForStop(stop: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      stop?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const onAbort = () => done('stop requested');
    // `once`-style: after the first signal our handlers are gone, so a second ^C kills a stuck shutdown.
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    stop?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `founderos-runner server …`; resolves to the exit code once stopped (0 after a signal, 1 if it could not
 * start, 2 for usage errors). `stop` ends it like a signal does (for tests and embedding).
 */
export function runServerCommand(argv: string[], io: CliIo = processIo(), stop?: AbortSignal): Promise<number> {
  return runCommand(HELP_COMMAND, io, async () => {
    const parsed = parseServerArgs(argv, io.env);
    if (parsed === 'help') {
      io.stdout(usage(io.env));
      return EXIT.ok;
    }
    for (const warning of parsed.warnings) io.stderr(`${HELP_COMMAND}: warning: ${warning}\n`);
    // What PGlite creates while the server runs is its owner's alone (the data dir is also made private at start).
    const previousUmask = process.umask(0o077);
    try {
      return await serve(parsed.options, io, stop);
    } finally {
      process.umask(previousUmask);
    }
  });
}

/** Runs the control plane until stopped; resolves to the exit code. */
async function serve(options: ControlPlaneOptions, io: CliIo, stop: AbortSignal | undefined): Promise<number> {
  // Request paths, names and error texts reach the log: one escaping rule keeps every entry one plain line.
  const log = (line: string) => io.stderr(`${new Date().toISOString()} ${escapeControls(line)}\n`);
  let plane: ControlPlane;
  try {
    plane = await startControlPlane({ ...options, log });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint =
      e.code === 'EADDRINUSE'
        ? `port ${options.port} is in use; pass --port <another> (0 picks a free one) or stop what is using it.`
        : `${e.message}`;
    io.stderr(`${HELP_COMMAND}: could not start: ${hint}\n`);
    return EXIT.failure;
  }
  const unguard = guardProcess(log);
  io.stdout(
    [
      `founderos-runner server listening on ${plane.url}`,
      `  database:  ${plane.storage}`,
      `  admin key: ${describeAdminKey(plane)}`,
      ...(plane.dashboardUrl ? [`  dashboard: ${plane.dashboardUrl}  (log in with the admin key)`] : []),
      `  next:      founderos-runner admin tokens create --company <id> --server-url ${plane.url}`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  const why = await waitForStop(stop);
  io.stdout(`${why}: stopping (finishing in-flight requests)...\n`);
  await plane.close();
  unguard();
  io.stdout('stopped.\n');
  return EXIT.ok;
}
