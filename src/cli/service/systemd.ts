import { posix } from 'node:path';
import { RUNNER_VERSION } from '../../runner/version.js';
import { serviceEnvironment } from './environment.js';
import { RESTART_DELAY_SEC, STOP_MARGIN_SEC, type ServiceManager } from './manager.js';

export const SYSTEMD_UNIT = 'founderos-runner';

// ---- Linux: a systemd user unit, its settings in an environment file only the user can read ----

export const systemd: ServiceManager = {
  install(config, { home, execPath, cliPath, env }) {
    const { unitPath, envPath } = systemdPaths(home);
    const unit = [
      `# Written by founderos-runner service install (v${RUNNER_VERSION}); run it again to change the settings.`,
      '[Unit]',
      'Description=FounderOS runner: runs FounderOS agent jobs on this machine',
      '',
      '[Service]',
      `ExecStart=${[execPath, cliPath, 'start'].map(systemdQuote).join(' ')}`,
      `EnvironmentFile=${envPath.replace(/%/g, '%%')}`,
      `WorkingDirectory=${home.replace(/%/g, '%%')}`,
      'Restart=on-failure',
      `RestartSec=${RESTART_DELAY_SEC}`,
      '# 2 = bad configuration, 3 = token rejected: a restart cannot fix either (journalctl --user -u founderos-runner says why).',
      'RestartPreventExitStatus=2 3',
      '# SIGTERM to the runner alone, which stops polling and lets the running job finish; SIGKILL to the rest only after the timeout.',
      'KillMode=mixed',
      `# The longest job (--timeout-sec ${config.timeoutSec}) plus the agent's kill grace and the final report.`,
      `TimeoutStopSec=${config.timeoutSec + STOP_MARGIN_SEC}`,
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n');
    return [
      { kind: 'write', path: envPath, content: envFileContent(serviceEnvironment(config, env)), mode: 0o600 },
      { kind: 'write', path: unitPath, content: unit, mode: 0o644 },
      { kind: 'run', argv: ['systemctl', '--user', 'daemon-reload'] },
      { kind: 'run', argv: ['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT] },
      {
        kind: 'note',
        text: `if it was already running: systemctl --user restart ${SYSTEMD_UNIT} applies the new settings (after the running job)`,
      },
      { kind: 'note', text: 'to keep it running while you are logged out: loginctl enable-linger $USER' },
      { kind: 'note', text: `logs: journalctl --user -u ${SYSTEMD_UNIT} -f` },
    ];
  },
  uninstall({ home }) {
    const { unitPath, envPath } = systemdPaths(home);
    return [
      { kind: 'note', text: 'stopping lets a running job finish first' },
      { kind: 'run', argv: ['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT], mayFail: true },
      { kind: 'remove', path: unitPath },
      { kind: 'remove', path: envPath },
      { kind: 'run', argv: ['systemctl', '--user', 'daemon-reload'], mayFail: true },
    ];
  },
  status({ home }) {
    const { unitPath, envPath } = systemdPaths(home);
    return [
      { kind: 'show', path: unitPath, label: 'systemd unit' },
      { kind: 'show', path: envPath, label: 'settings' },
      { kind: 'run', argv: ['systemctl', '--user', 'status', SYSTEMD_UNIT, '--no-pager', '--lines=5'], mayFail: true },
    ];
  },
};

function systemdPaths(home: string) {
  return {
    unitPath: posix.join(home, '.config', 'systemd', 'user', `${SYSTEMD_UNIT}.service`),
    envPath: posix.join(home, '.config', 'founderos-runner', 'env'),
  };
}

/** systemd splits ExecStart on spaces, honours double quotes, and expands `%` specifiers and `$` variables. */
function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/[\\"]/g, '\\$&')}"`;
}

/** `KEY=value` lines; a value with anything beyond a safe set goes in double quotes, escaped. */
function envFileContent(variables: Record<string, string>): string {
  const lines = Object.entries(variables).map(([name, value]) =>
    /^[\w@%+=:,./-]*$/.test(value) ? `${name}=${value}` : `${name}="${value.replace(/[\\"$`]/g, '\\$&')}"`,
  );
  return `# founderos-runner service settings: this file holds the runner token; keep it mode 0600.\n${lines.join('\n')}\n`;
}
