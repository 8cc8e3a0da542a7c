#!/usr/bin/env node
import { EXIT } from '../runner/exit-codes.js';
import { RUNNER_VERSION } from '../runner/version.js';

// Each command loads its own modules, so that `--version` and `--help` start in a blink.

const HELP = `founderos-runner v${RUNNER_VERSION}: runs FounderOS agent jobs on this machine, under your own CLI login.

Usage:
  founderos-runner demo [--agent claude] [--keep]   see the whole loop on this machine: no account, no set-up
  founderos-runner start [flags]                    poll the server for jobs and run them until ^C
  founderos-runner doctor [--json] [flags]          check this machine: node, agent CLIs, server, token, spool dir, clock
  founderos-runner service install|uninstall|status [--dry-run] [--platform linux|darwin|win32] [flags]
                                                    run start as a systemd user unit, launchd agent, or NSSM service
  founderos-runner server [flags]                   run the reference control plane (PGlite, or --database-url)
  founderos-runner admin <command> [flags]          manage tokens and jobs of a reference control plane
  founderos-runner --version | --help

start flags (each also as an environment variable; flags win):
  --token=fos_…          FOUNDEROS_RUNNER_TOKEN        runner token (required, or --token-file); prefer the variable:
                                                       a flag is visible to every local user in ps
  --token-file=PATH      FOUNDEROS_RUNNER_TOKEN_FILE   read the token from a file that is yours alone (mode 0600)
  --server-url=https://… FOUNDEROS_RUNNER_URL          server base URL (required; http only to this machine)
  --claude-bin=PATH      FOUNDEROS_CLAUDE_BIN          claude binary (default: claude on PATH)
  --timeout-sec=N        FOUNDEROS_RUNNER_TIMEOUT_SEC  ceiling on a job's run time, 1..3600 (default 600)
  --log-level=LEVEL      FOUNDEROS_RUNNER_LOG_LEVEL    debug | info | warn | error (default info)
  --log-format=FORMAT    FOUNDEROS_RUNNER_LOG_FORMAT   text | json (default text)
  --config=PATH          settings as JSON, keys = flag names (default ./founderos-runner.json,
                         else $XDG_CONFIG_HOME/founderos-runner/config.json); flags > env > file > defaults

Signals: the first SIGINT/SIGTERM lets the running job finish, the second cancels it, the third exits.
Exit codes: 0 stopped cleanly, 1 failure, 2 bad configuration, 3 token rejected by the server, 130 forced.
Run "founderos-runner server --help" or "founderos-runner admin --help" for those commands.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return (await import('../runner/start-command.js')).startCommand(rest);
    case 'demo':
      return (await import('../demo/demo-command.js')).demoCommand(rest);
    case 'doctor':
      return (await import('../runner/doctor.js')).doctorCommand(rest);
    case 'service':
      return (await import('../runner/service.js')).serviceCommand(rest);
    case 'server':
      return (await import('../control-plane/index.js')).runServerCommand(rest);
    case 'admin':
      return (await import('../control-plane/index.js')).runAdminCommand(rest);
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`${RUNNER_VERSION}\n`);
      return EXIT.ok;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}: use start, doctor, service, demo, server or admin (see founderos-runner --help)\n`);
      return EXIT.config;
  }
}

// Exit explicitly: idle keep-alive sockets or a child's leftover pipe must not keep a finished command alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`founderos-runner: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.failure);
  },
);
