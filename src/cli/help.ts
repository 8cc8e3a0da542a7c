import { RUNNER_VERSION } from '../runner/version.js';
import { startHelp } from './start/help.js';

/** `founderos-runner --help`: the commands, then the whole help of `start`, the one most people run. */
export function toolHelp(): string {
  return `founderos-runner v${RUNNER_VERSION}: runs FounderOS agent jobs on this machine, under your own CLI login.

Usage:
  founderos-runner demo [--agent claude] [--keep]   see the whole loop on this machine: no account, no set-up
  founderos-runner start [flags]                    poll the server for jobs and run them until ^C
  founderos-runner doctor [--json] [flags]          check this machine: node, agent CLIs, server, token, spool dir, clock
  founderos-runner service install|uninstall|status [--dry-run] [--platform linux|darwin|win32] [flags]
                                                    run start as a systemd user unit, launchd agent, or NSSM service
  founderos-runner server [flags]                   run the reference control plane (PGlite, or --database-url)
  founderos-runner admin <command> [flags]          manage tokens and jobs of a reference control plane
  founderos-runner --version | --help
Each command has its own --help (founderos-runner start --help, …).

${startHelp()}`;
}
