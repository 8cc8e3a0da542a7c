import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/cli/start/config-file.js';
import { configEnvironment } from '../../../src/cli/service/environment.js';
import { parseStartFlags, resolveRunnerConfig } from '../../../src/cli/start/runner-config.js';
import { commandLineTokenWarnings, resolveToken } from '../../../src/cli/start/token.js';
import { problemsOf } from '../support.js';

const TOKEN = `fos_${'a1B2'.repeat(8)}`;
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveRunnerConfig(parseStartFlags(argv).values, env);

describe('runner configuration', () => {
  it('should accept both --key=value and --key value', () => {
    const config = parse([`--token=${TOKEN}`, '--server-url', 'https://founderos.example.com/', '--timeout-sec', '90']);
    expect(config).toMatchObject({
      token: TOKEN,
      serverUrl: 'https://founderos.example.com',
      timeoutSec: 90,
      logLevel: 'info',
      allowProcessJobs: false,
    });
    expect(config.agentBins).toEqual({
      claude: 'claude',
      codex: 'codex',
      gemini: 'gemini',
      opencode: 'opencode',
      cursor: 'cursor-agent',
      pi: 'pi',
    });
  });

  it('should let flags override environment variables, and env override defaults', () => {
    const env = {
      FOUNDEROS_RUNNER_TOKEN: TOKEN,
      FOUNDEROS_RUNNER_URL: 'https://env.example.com',
      FOUNDEROS_CLAUDE_BIN: '/opt/claude',
      FOUNDEROS_RUNNER_LOG_LEVEL: 'debug',
    };
    const config = parse(['--server-url=https://flag.example.com', '--codex-bin=/opt/codex'], {
      ...env,
      FOUNDEROS_CODEX_BIN: '/env/codex',
    });
    expect(config).toMatchObject({ serverUrl: 'https://flag.example.com', logLevel: 'debug' });
    expect(config.agentBins).toMatchObject({ claude: '/opt/claude', codex: '/opt/codex' });
  });

  it('should say the token is required, naming the flag and the variable', () => {
    expect(problemsOf(() => parse(['--server-url=https://x.example.com']))).toEqual([
      expect.stringContaining('config error: FOUNDEROS_RUNNER_TOKEN is required'),
    ]);
  });

  it('should refuse a malformed token without printing it whole', () => {
    const bad = 'fos_tooShortButSecret';
    const [problem] = problemsOf(() => parse([`--token=${bad}`, '--server-url=https://x.example.com']));
    expect(problem).toContain('must match fos_<32 alphanumeric>');
    expect(problem).not.toContain(bad);
    expect(problem).toContain('fos_tooS…');
  });

  it('should refuse a flag given without a value, an unknown flag and a repeated flag', () => {
    expect(problemsOf(() => parseStartFlags(['--token', '--server-url=https://x.example.com']))[0]).toMatch(
      /^unknown or malformed flag\(s\): --token /,
    );
    expect(problemsOf(() => parseStartFlags(['--tokn=abc']))[0]).toContain('--tokn');
    expect(problemsOf(() => parseStartFlags(['--token=a', '--token=b']))[0]).toContain('--token');
  });

  it('should allow process jobs only when asked, by flag or environment', () => {
    const base = [`--token=${TOKEN}`, '--server-url=https://x.example.com'];
    expect(parse(base).allowProcessJobs).toBe(false);
    expect(parse(base, { FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS: '1' }).allowProcessJobs).toBe(true);
    const { values, booleans } = parseStartFlags([...base, '--allow-process-jobs']);
    expect(resolveRunnerConfig(values, {}, booleans).allowProcessJobs).toBe(true);
  });

  it('should keep numeric-looking values as text', () => {
    expect(parseStartFlags(['--token=0123']).values.token).toBe('0123');
  });

  it.each([
    ['ftp://x.example.com', 'must start with https://'],
    ['http://founderos.example.com', 'clear text'],
    ['not a url', 'is not a URL'],
    ['https://user:pw@x.example.com', 'user name or password'],
  ])('should refuse the server URL %s', (url, message) => {
    expect(problemsOf(() => parse([`--token=${TOKEN}`, `--server-url=${url}`]))[0]).toContain(message);
  });

  it.each(['http://127.0.0.1:8787', 'http://localhost:3000', 'http://[::1]:8080'])(
    'should allow plain http to the loopback host %s',
    (url) => {
      expect(parse([`--token=${TOKEN}`, `--server-url=${url}`]).serverUrl).toBe(url);
    },
  );

  it.each(['0', '3601', '1.5', 'ten'])('should refuse the timeout %s', (timeout) => {
    expect(problemsOf(() => parse([`--token=${TOKEN}`, '--server-url=https://x.example.com', `--timeout-sec=${timeout}`]))[0]).toContain(
      'from 1 to 3600',
    );
  });

  it('should report every problem at once', () => {
    expect(problemsOf(() => parse(['--log-level=loud', '--timeout-sec=0']))).toHaveLength(4);
  });
});

describe('the token from a file (--token-file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-file-spec-'));
  let count = 0;
  const tokenFile = (content: string, mode = 0o600) => {
    const path = join(dir, `token-${++count}`);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  };
  const me = { uid: process.getuid!() };

  it('should read the one token a private file holds, a final newline allowed, and say where it came from', () => {
    const path = tokenFile(`${TOKEN}\n`);
    const config = parse([`--token-file=${path}`, '--server-url=https://x.example.com']);
    expect(config).toMatchObject({ token: TOKEN, tokenFile: path });
    // A service started with this config reads the file again at each start, rather than a copy of the token.
    expect(configEnvironment(config)).toMatchObject({ FOUNDEROS_RUNNER_TOKEN_FILE: path });
    expect(configEnvironment(config).FOUNDEROS_RUNNER_TOKEN).toBeUndefined();
    expect(parse(['--server-url=https://x.example.com'], { FOUNDEROS_RUNNER_TOKEN_FILE: tokenFile(`${TOKEN}\r\n`) }).token).toBe(TOKEN);
  });

  it.each([0o640, 0o604, 0o620, 0o602, 0o644, 0o666])('should refuse a token file with mode %o, saying how to fix it', (mode) => {
    const path = tokenFile(TOKEN, mode);
    expect(resolveToken({ 'token-file': path }, {}, undefined, me)).toEqual({
      problem: `token file ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users can read or change it; run: chmod 600 ${path}`,
    });
  });

  it('should refuse a token file that belongs to another user', () => {
    const path = tokenFile(TOKEN);
    expect(resolveToken({ 'token-file': path }, {}, undefined, { uid: me.uid + 1 }).problem).toBe(
      `token file ${path} belongs to uid ${me.uid}, not to you (uid ${me.uid + 1}), so someone else controls the token; run: chown $(id -u) ${path}`,
    );
  });

  it.each([
    ['empty', ''],
    ['two tokens', `${TOKEN}\n${TOKEN}\n`],
    ['a token and a comment', `${TOKEN} # laptop`],
    ['a shell assignment', `FOUNDEROS_RUNNER_TOKEN=${TOKEN}`],
    ['a short token', 'fos_tooShortButSecret'],
  ])('should refuse a token file holding %s, never showing more than 8 characters of it', (_what, content) => {
    const path = tokenFile(content);
    const { problem } = resolveToken({ 'token-file': path }, {}, undefined, me);
    expect(problem).toMatch(new RegExp(`^token file ${path} must hold one token, fos_ and 32 letters or digits, and nothing else`));
    expect(problem).not.toContain(TOKEN);
    expect(problem).not.toContain('ButSecret');
  });

  it('should refuse a missing file, a directory and a huge file', () => {
    expect(resolveToken({ 'token-file': join(dir, 'nope') }, {}).problem).toBe(
      `token file ${join(dir, 'nope')} cannot be opened (ENOENT); check the path and that it is yours`,
    );
    expect(resolveToken({ 'token-file': dir }, {}, undefined, me).problem).toBe(
      `token file ${dir} is not a regular file; give the path of a file that holds the token`,
    );
    expect(resolveToken({ 'token-file': tokenFile('x'.repeat(5000)) }, {}, undefined, me).problem).toMatch(
      /is 5000 bytes: it must hold one token/,
    );
  });

  it('should take the token or the file from the higher level, and refuse both at one level', () => {
    const path = tokenFile(TOKEN);
    const other = `fos_${'Zz09'.repeat(8)}`;
    expect(resolveToken({ 'token-file': path }, { FOUNDEROS_RUNNER_TOKEN: other }).token).toBe(TOKEN);
    expect(resolveToken({ token: other }, { FOUNDEROS_RUNNER_TOKEN_FILE: path }).token).toBe(other);
    expect(resolveToken({ token: other, 'token-file': path }, {}).problem).toBe(
      'both a token and a token file are given (--token and --token-file); give only one of them',
    );
    expect(resolveToken({}, { FOUNDEROS_RUNNER_TOKEN: other, FOUNDEROS_RUNNER_TOKEN_FILE: path }).problem).toBe(
      'both a token and a token file are given (FOUNDEROS_RUNNER_TOKEN and FOUNDEROS_RUNNER_TOKEN_FILE); give only one of them',
    );
  });

  it('should read "token-file" in a config file as a path next to that file', () => {
    expect(parseConfigObject({ 'token-file': 'secrets/token' }, '/etc/founderos/config.json').values['token-file']).toBe(
      '/etc/founderos/secrets/token',
    );
  });
});

describe('a token on the command line', () => {
  it('should be warned about, with its preview only and what to use instead', () => {
    expect(commandLineTokenWarnings({ token: TOKEN })).toEqual([
      'the token (fos_a1B2…) was given as --token on the command line, where every user of this machine can read it (ps, /proc/<pid>/cmdline); ' +
        'set FOUNDEROS_RUNNER_TOKEN in the environment instead, or put it in a file only you can read and pass --token-file=PATH',
    ]);
    expect(commandLineTokenWarnings({ 'server-url': 'https://x.example.com' })).toEqual([]);
  });
});
