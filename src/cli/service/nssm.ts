import { win32 } from 'node:path';
import { preview } from '../../runner/logger.js';
import { configEnvironment } from './environment.js';
import { RESTART_DELAY_SEC, STOP_MARGIN_SEC, type ServiceManager } from './manager.js';

export const NSSM_SERVICE = 'FounderOSRunner';

// ---- Windows: NSSM, printed for an administrator prompt; the token is read from the prompt's environment ----

export const nssm: ServiceManager = {
  install(config, { home, execPath, cliPath }) {
    const logPath = win32.join(home, 'founderos-runner.log');
    // %FOUNDEROS_RUNNER_TOKEN% is expanded by cmd.exe: the token is never printed, and never in the shell history.
    // A token file needs neither: the service reads the file.
    const fromPrompt = config.tokenFile === undefined;
    const variables = Object.entries({
      ...configEnvironment(config),
      ...(fromPrompt && { FOUNDEROS_RUNNER_TOKEN: '%FOUNDEROS_RUNNER_TOKEN%' }),
    }).map(([name, value]) => cmdQuote(`${name}=${value}`));
    const set = (...args: string[]) => ({ kind: 'print' as const, line: ['nssm', 'set', NSSM_SERVICE, ...args].join(' ') });
    return [
      { kind: 'note', text: 'NSSM (https://nssm.cc) needs an administrator prompt: open cmd.exe as administrator, then run:' },
      ...(fromPrompt
        ? [{ kind: 'print' as const, line: `set FOUNDEROS_RUNNER_TOKEN=${preview(config.token)}   (type your whole token here)` }]
        : []),
      { kind: 'print', line: ['nssm', 'install', NSSM_SERVICE, cmdQuote(execPath), cmdQuote(cliPath), 'start'].join(' ') },
      set('AppDirectory', cmdQuote(home)),
      set('AppEnvironmentExtra', ...variables),
      // The service-manager side of the exit codes: restart on failure, never on 2 (configuration) or 3 (token).
      set('AppExit', 'Default', 'Restart'),
      set('AppExit', '2', 'Exit'),
      set('AppExit', '3', 'Exit'),
      set('AppRestartDelay', String(RESTART_DELAY_SEC * 1000)),
      // Ctrl-C is the runner's graceful stop; wait for the longest job before NSSM escalates.
      set('AppStopMethodConsole', String((config.timeoutSec + STOP_MARGIN_SEC) * 1000)),
      set('AppStdout', cmdQuote(logPath)),
      set('AppStderr', cmdQuote(logPath)),
      {
        kind: 'note',
        text: `run it as you, where your agent CLI is logged in: nssm set ${NSSM_SERVICE} ObjectName .\\%USERNAME% <your password>`,
      },
      { kind: 'print', line: `nssm start ${NSSM_SERVICE}` },
    ];
  },
  uninstall() {
    return [
      { kind: 'note', text: 'in an administrator prompt:' },
      { kind: 'print', line: `nssm stop ${NSSM_SERVICE}` },
      { kind: 'print', line: `nssm remove ${NSSM_SERVICE} confirm` },
    ];
  },
  status() {
    return [{ kind: 'print', line: `nssm status ${NSSM_SERVICE}` }];
  },
};

function cmdQuote(arg: string): string {
  return /^[^\s"&|<>^]+$/.test(arg) ? arg : `"${arg.replace(/"/g, '""')}"`;
}
