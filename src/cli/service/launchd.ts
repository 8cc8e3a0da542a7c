import { posix } from 'node:path';
import { RUNNER_VERSION } from '../../runner/version.js';
import { serviceEnvironment } from './environment.js';
import { RESTART_DELAY_SEC, STOP_MARGIN_SEC, type ServiceManager } from './manager.js';

export const LAUNCHD_LABEL = 'dev.founderos.runner';

// ---- macOS: a launchd agent; launchd has no environment file, so the plist holds the token and is mode 0600 ----

export const launchd: ServiceManager = {
  install(config, { home, execPath, cliPath, env }) {
    const { plistPath, logPath } = launchdPaths(home);
    const stringDict = (entries: Record<string, string>) =>
      `<dict>\n${Object.entries(entries)
        .map(([key, value]) => `      <key>${xml(key)}</key>\n      <string>${xml(value)}</string>`)
        .join('\n')}\n    </dict>`;
    const plist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by founderos-runner service install (v${RUNNER_VERSION}); it holds the runner token: keep it mode 0600. -->
<plist version="1.0">
  <dict>
    <key>Label</key>
    <string>${LAUNCHD_LABEL}</string>
    <key>ProgramArguments</key>
    <array>
${[execPath, cliPath, 'service', 'run'].map((arg) => `      <string>${xml(arg)}</string>`).join('\n')}
    </array>
    <key>EnvironmentVariables</key>
    ${stringDict(serviceEnvironment(config, env))}
    <key>WorkingDirectory</key>
    <string>${xml(home)}</string>
    <key>RunAtLoad</key>
    <true/>
    <!-- Restart after a failure only; "service run" exits 0 on a bad configuration or a rejected token, so those do not loop. -->
    <key>KeepAlive</key>
    <dict>
      <key>SuccessfulExit</key>
      <false/>
    </dict>
    <key>ThrottleInterval</key>
    <integer>${RESTART_DELAY_SEC}</integer>
    <!-- The longest job plus the agent's kill grace and the final report, before launchd sends SIGKILL. -->
    <key>ExitTimeOut</key>
    <integer>${config.timeoutSec + STOP_MARGIN_SEC}</integer>
    <key>StandardOutPath</key>
    <string>${xml(logPath)}</string>
    <key>StandardErrorPath</key>
    <string>${xml(logPath)}</string>
  </dict>
</plist>
`;
    return [
      { kind: 'write', path: plistPath, content: plist, mode: 0o600 },
      // A reinstall replaces a loaded agent: unload first (fails harmlessly when it is not loaded).
      { kind: 'run', argv: ['launchctl', 'unload', plistPath], mayFail: true },
      { kind: 'run', argv: ['launchctl', 'load', '-w', plistPath] },
      { kind: 'note', text: `logs: tail -f ${logPath}` },
    ];
  },
  uninstall({ home }) {
    const { plistPath } = launchdPaths(home);
    return [
      { kind: 'run', argv: ['launchctl', 'unload', '-w', plistPath], mayFail: true },
      { kind: 'remove', path: plistPath },
    ];
  },
  status({ home }) {
    const { plistPath, logPath } = launchdPaths(home);
    return [
      { kind: 'show', path: plistPath, label: 'launchd agent' },
      { kind: 'show', path: logPath, label: 'log' },
      { kind: 'run', argv: ['launchctl', 'list', LAUNCHD_LABEL], mayFail: true },
    ];
  },
};

function launchdPaths(home: string) {
  return {
    plistPath: posix.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`),
    logPath: posix.join(home, 'Library', 'Logs', 'founderos-runner.log'),
  };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
