import { describe, expect, it } from 'vitest';
import { parseFlags, resolveRunnerConfig, START_BOOLEAN_FLAGS, START_FLAGS } from '../../src/runner/config.js';
import { problemsOf } from './support.js';

const TOKEN = `fos_${'a1B2'.repeat(8)}`;
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveRunnerConfig(parseFlags(argv, START_FLAGS).values, env);

describe('runner configuration', () => {
  it('should accept both --key=value and --key value', () => {
    const config = parse([`--token=${TOKEN}`, '--server-url', 'https://founderos.example.com/', '--timeout-sec', '90']);
    expect(config).toMatchObject({ token: TOKEN, serverUrl: 'https://founderos.example.com', timeoutSec: 90, logLevel: 'info', allowProcessJobs: false });
    expect(config.agentBins).toEqual({ claude: 'claude', codex: 'codex', gemini: 'gemini', opencode: 'opencode', cursor: 'cursor-agent', pi: 'pi' });
  });

  it('should let flags override environment variables, and env override defaults', () => {
    const env = { FOUNDEROS_RUNNER_TOKEN: TOKEN, FOUNDEROS_RUNNER_URL: 'https://env.example.com', FOUNDEROS_CLAUDE_BIN: '/opt/claude', FOUNDEROS_RUNNER_LOG_LEVEL: 'debug' };
    const config = parse(['--server-url=https://flag.example.com', '--codex-bin=/opt/codex'], { ...env, FOUNDEROS_CODEX_BIN: '/env/codex' });
    expect(config).toMatchObject({ serverUrl: 'https://flag.example.com', logLevel: 'debug' });
    expect(config.agentBins).toMatchObject({ claude: '/opt/claude', codex: '/opt/codex' });
  });

  it('should say the token is required, naming the flag and the variable', () => {
    expect(problemsOf(() => parse(['--server-url=https://x.example.com']))).toEqual([expect.stringContaining('config error: FOUNDEROS_RUNNER_TOKEN is required')]);
  });

  it('should refuse a malformed token without printing it whole', () => {
    const bad = 'fos_tooShortButSecret';
    const [problem] = problemsOf(() => parse([`--token=${bad}`, '--server-url=https://x.example.com']));
    expect(problem).toContain('must match fos_<32 alphanumeric>');
    expect(problem).not.toContain(bad);
    expect(problem).toContain('fos_tooS…');
  });

  it('should refuse a flag given without a value, an unknown flag and a repeated flag', () => {
    expect(problemsOf(() => parseFlags(['--token', '--server-url=https://x.example.com'], START_FLAGS))[0]).toMatch(/^unknown or malformed flag\(s\): --token /);
    expect(problemsOf(() => parseFlags(['--tokn=abc'], START_FLAGS))[0]).toContain('--tokn');
    expect(problemsOf(() => parseFlags(['--token=a', '--token=b'], START_FLAGS))[0]).toContain('--token');
  });

  it('should allow process jobs only when asked, by flag or environment', () => {
    const base = [`--token=${TOKEN}`, '--server-url=https://x.example.com'];
    expect(parse(base).allowProcessJobs).toBe(false);
    expect(parse(base, { FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS: '1' }).allowProcessJobs).toBe(true);
    const { values, booleans } = parseFlags([...base, '--allow-process-jobs'], START_FLAGS, START_BOOLEAN_FLAGS);
    expect(resolveRunnerConfig(values, {}, booleans).allowProcessJobs).toBe(true);
  });

  it('should keep numeric-looking values as text', () => {
    expect(parseFlags(['--token=0123'], START_FLAGS).values.token).toBe('0123');
  });

  it.each([
    ['ftp://x.example.com', 'must start with https://'],
    ['http://founderos.example.com', 'clear text'],
    ['not a url', 'is not a URL'],
    ['https://user:pw@x.example.com', 'user name or password'],
  ])('should refuse the server URL %s', (url, message) => {
    expect(problemsOf(() => parse([`--token=${TOKEN}`, `--server-url=${url}`]))[0]).toContain(message);
  });

  it.each(['http://127.0.0.1:8787', 'http://localhost:3000', 'http://[::1]:8080'])('should allow plain http to the loopback host %s', (url) => {
    expect(parse([`--token=${TOKEN}`, `--server-url=${url}`]).serverUrl).toBe(url);
  });

  it.each(['0', '3601', '1.5', 'ten'])('should refuse the timeout %s', (timeout) => {
    expect(problemsOf(() => parse([`--token=${TOKEN}`, '--server-url=https://x.example.com', `--timeout-sec=${timeout}`]))[0]).toContain('from 1 to 3600');
  });

  it('should report every problem at once', () => {
    expect(problemsOf(() => parse(['--log-level=loud', '--timeout-sec=0']))).toHaveLength(4);
  });
});
