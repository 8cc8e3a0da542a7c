import type { RunnerConfig } from '../start/declarations.js';

/** What every service manager (systemd, launchd, NSSM) shares: the plan it returns as steps (its environment: environment.ts). */

/** What a stop waits beyond the longest job: the agent's kill grace (10 s) and the final report, with room to spare. */
export const STOP_MARGIN_SEC = 60;
/** Seconds between restarts after a crash: long enough not to hammer a server that is down. */
export const RESTART_DELAY_SEC = 10;

/** A service manager's work as data, so that --dry-run prints exactly what a real run does. */
export type Step =
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'remove'; path: string }
  /** `mayFail`: expected to fail when nothing is installed or loaded yet (a first install, a second uninstall). */
  | { kind: 'run'; argv: [command: string, ...args: string[]]; mayFail?: boolean }
  /** A command for the user to run; never run here (NSSM needs an administrator prompt). */
  | { kind: 'print'; line: string }
  | { kind: 'show'; path: string; label: string }
  | { kind: 'note'; text: string };

export interface ServiceContext {
  home: string;
  execPath: string;
  cliPath: string;
  env: NodeJS.ProcessEnv;
}

export interface ServiceManager {
  install(config: RunnerConfig, context: ServiceContext): Step[];
  uninstall(context: ServiceContext): Step[];
  status(context: ServiceContext): Step[];
}
