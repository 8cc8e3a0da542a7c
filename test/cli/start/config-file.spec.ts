import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile, type ConfigFileLocation } from '../../../src/cli/start/config-file.js';
import { parseStartFlags, resolveRunnerConfig } from '../../../src/cli/start/runner-config.js';
import { startCommand } from '../../../src/cli/start/command.js';
import { problemsOf } from '../support.js';

const TOKEN = `fos_${'a1B2'.repeat(8)}`;
const FILE_TOKEN = `fos_${'f1L3'.repeat(8)}`;

describe('config file', () => {
  let dir: string;
  let location: ConfigFileLocation;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'founderos-config-'));
    mkdirSync(join(dir, 'project'));
    location = { cwd: join(dir, 'project'), home: join(dir, 'home'), env: {} };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeJson = (path: string, content: unknown, mode = 0o600) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content), { mode });
    chmodSync(path, mode);
    return path;
  };
  const projectFile = (content: unknown, mode?: number) => writeJson(join(location.cwd, 'founderos-runner.json'), content, mode);
  const userFile = (content: unknown) => writeJson(join(location.home, '.config', 'founderos-runner', 'config.json'), content);
  const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const { values, booleans } = parseStartFlags(argv);
    return resolveRunnerConfig(values, env, booleans, loadConfigFile(values.config, { ...location, env }));
  };

  it('should rank flags over environment over file over defaults', () => {
    projectFile({
      token: FILE_TOKEN,
      'server-url': 'https://file.example.com',
      'timeout-sec': 120,
      'log-level': 'warn',
      'codex-bin': 'file-codex',
      'allow-process-jobs': true,
    });
    const config = resolve(['--timeout-sec=90'], { FOUNDEROS_RUNNER_URL: 'https://env.example.com', FOUNDEROS_RUNNER_TIMEOUT_SEC: '60' });
    expect(config).toMatchObject({
      token: FILE_TOKEN,
      serverUrl: 'https://env.example.com',
      timeoutSec: 90,
      logLevel: 'warn',
      logFormat: 'text',
      allowProcessJobs: true,
    });
    expect(config.agentBins).toMatchObject({ codex: 'file-codex', claude: 'claude' });
  });

  it('should read ./founderos-runner.json before the user file, and $XDG_CONFIG_HOME over ~/.config', () => {
    userFile({ token: FILE_TOKEN, 'server-url': 'https://user.example.com' });
    expect(resolve([]).serverUrl).toBe('https://user.example.com');
    projectFile({ token: FILE_TOKEN, 'server-url': 'https://project.example.com' });
    expect(resolve([]).serverUrl).toBe('https://project.example.com');

    rmSync(join(location.cwd, 'founderos-runner.json'));
    writeJson(join(dir, 'xdg', 'founderos-runner', 'config.json'), { token: FILE_TOKEN, 'server-url': 'https://xdg.example.com' });
    expect(resolve([], { XDG_CONFIG_HOME: join(dir, 'xdg') }).serverUrl).toBe('https://xdg.example.com');
  });

  it('should read only --config when given, and refuse one that does not exist', () => {
    projectFile({ token: FILE_TOKEN, 'server-url': 'https://project.example.com' });
    const explicit = writeJson(join(dir, 'other.json'), { token: FILE_TOKEN, 'server-url': 'https://other.example.com' });
    expect(resolve([`--config=${explicit}`]).serverUrl).toBe('https://other.example.com');
    expect(problemsOf(() => resolve(['--config=missing.json']))).toEqual([
      `config error: config file ${join(location.cwd, 'missing.json')} (--config) does not exist or is not a file; check the path, or drop --config`,
    ]);
  });

  it('should refuse unknown keys and wrong types, naming the file and every key at once', () => {
    const path = projectFile({
      token: 12345,
      server_url: 'https://x.example.com',
      'timeout-sec': [1],
      'allow-process-jobs': 'yes',
      'log-level': '',
    });
    const problems = problemsOf(() => resolve([]));
    expect(problems).toEqual([
      `config error: ${path}: "token" must be a non-empty string (got a number)`,
      expect.stringContaining(
        `config error: ${path}: unknown key "server_url"; the keys are the flag names without dashes: "token", "token-file", "server-url"`,
      ),
      `config error: ${path}: "timeout-sec" must be a whole number from 1 to 3600 (got an array)`,
      `config error: ${path}: "allow-process-jobs" must be true or false (got string "yes")`,
      `config error: ${path}: "log-level" must be a non-empty string (got an empty string)`,
    ]);
  });

  it('should take numbers as numbers, held to the same ranges as the flags', () => {
    projectFile({
      token: FILE_TOKEN,
      'server-url': 'https://x.example.com',
      concurrency: 4,
      'metrics-port': 9100,
      'max-jobs': '3',
      'timeout-sec': 120,
    });
    expect(resolve([])).toMatchObject({ concurrency: 4, metricsPort: 9100, maxJobs: 3, timeoutSec: 120 });

    const path = projectFile({
      token: FILE_TOKEN,
      'server-url': 'https://x.example.com',
      concurrency: 17,
      'metrics-port': 0,
      'max-jobs': 2.5,
    });
    expect(problemsOf(() => resolve([]))).toEqual([
      `config error: ${path}: "concurrency" must be a whole number from 1 to 16 (got number 17)`,
      `config error: ${path}: "metrics-port" must be a whole number from 1 to 65535 (got number 0)`,
      `config error: ${path}: "max-jobs" must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER} (got number 2.5)`,
    ]);
  });

  it('should validate file values with the same messages as flags', () => {
    projectFile({ token: 'fos_tooShortButSecret', 'server-url': 'http://example.com' });
    const problems = problemsOf(() => resolve([]));
    expect(problems[0]).toContain('config error: token fos_tooS… (21 characters) must match fos_<32 alphanumeric>');
    expect(problems[1]).toContain('uses plain http to a host that is not this machine');
    expect(problems.join('\n')).not.toContain('fos_tooShortButSecret');
  });

  it('should refuse a file that is not JSON, or not an object', () => {
    const path = projectFile('{"token": ');
    expect(problemsOf(() => resolve([]))[0]).toMatch(new RegExp(`^config error: ${path} is not valid JSON \\(.+\\); fix the syntax`));
    projectFile('["token"]');
    expect(problemsOf(() => resolve([]))[0]).toBe(
      `config error: ${path} must hold a JSON object of flag names and values, e.g. {"server-url": "https://founderos.example.com"}`,
    );
  });

  it('should warn, with a chmod to run, when a file holding the token is readable by others', () => {
    const path = projectFile({ token: FILE_TOKEN, 'server-url': 'https://x.example.com' }, 0o644);
    const loaded = loadConfigFile(undefined, location);
    expect(loaded.warnings).toEqual([
      `config file ${path} holds the token (fos_f1L3…) and other users can read it (mode 0644); run: chmod 600 ${path}`,
    ]);
    chmodSync(path, 0o600);
    expect(loadConfigFile(undefined, location).warnings).toEqual([]);
    projectFile({ 'server-url': 'https://x.example.com' }, 0o644);
    expect(loadConfigFile(undefined, location).warnings).toEqual([]);
  });

  it('should resolve relative paths next to the file, and leave bare command names to PATH', () => {
    userFile({ 'claude-bin': './bin/claude', 'codex-bin': 'codex-nightly', 'spool-dir': 'spool' });
    const loaded = loadConfigFile(undefined, location);
    const configDir = join(location.home, '.config', 'founderos-runner');
    expect(loaded.values).toEqual({
      'claude-bin': join(configDir, 'bin', 'claude'),
      'codex-bin': 'codex-nightly',
      'spool-dir': join(configDir, 'spool'),
    });
  });

  it('should make start exit 2 with the message on a bad config file', async () => {
    const path = writeJson(join(dir, 'bad.json'), { tokn: TOKEN });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await startCommand([`--config=${path}`], {})).toBe(2);
      expect(stderr.mock.calls.map(([text]) => String(text)).join('')).toContain(`config error: ${path}: unknown key "tokn"`);
    } finally {
      stderr.mockRestore();
    }
  });
});
