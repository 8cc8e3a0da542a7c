import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FAKE_CLAUDE, RUNNER_BIN } from '../support/runner-process.js';

/**
 * SLOW (npm pack + npm install, about 5–15 s with a warm npm cache; needs the registry when it is cold):
 * the package as a user gets it. The built package is packed, installed with runtime dependencies only into
 * an empty folder, and run from there: the CLI, the doctor against a real control plane, the demo, and the
 * public `@founderos/runner/operators` and `@founderos/runner/control-plane` entries with their types. It catches a `files` list that leaves something
 * out, a runtime import of a dev dependency, and an `exports` map pointing at nothing.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    // npm's own variables from an outer `npm test` would point the inner npm at this repository.
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && !name.startsWith('FOUNDEROS_')),
    );
    execFile(command, [...args], { cwd, env: { ...base, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the published package (slow: npm pack + npm install)', { timeout: 60_000 }, () => {
  let dir: string;
  let app: string;
  let server: TestControlPlane;
  /** The installed CLI, with its own state folder: a spool left by a real runner on this machine must not change a run. */
  const npx = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('npx', ['--no-install', 'founderos-runner', ...args], app, { XDG_STATE_HOME: join(dir, 'state'), ...env }, 30_000);
  /** What a module of the installed package exports at run time, as JSON on stdout. */
  const exportsOf = (entry: string) =>
    run(process.execPath, ['--input-type=module', '-e', `console.log(JSON.stringify(Object.keys(await import('${entry}'))))`], app);
  /** Type-checks a consumer's file in the app, with NodeNext resolution: the types resolve through the `exports` map. */
  const typecheck = (file: string, source: string) => {
    writeFileSync(join(app, file), source);
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck'];
    return run(process.execPath, [TSC, ...flags, file], app);
  };

  beforeAll(async () => {
    expect(existsSync(RUNNER_BIN), 'build first (npm test does): dist/ is what gets packed').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'founderos-package-'));
    app = join(dir, 'app');
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], REPO);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = join(dir, readdirSync(dir).find((name) => name.endsWith('.tgz'))!);

    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'founderos-package-check', private: true, type: 'module' }));
    const installed = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
    expect(installed.code, installed.stderr).toBe(0);
    server = await startTestControlPlane();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should run --help through npx', async () => {
    const help = await npx(['--help']);
    expect(help.code, help.stdout + help.stderr).toBe(0);
    expect(help.stdout).toContain('founderos-runner doctor');
    expect(help.stdout).toContain('founderos-runner service install');
  });

  it('should run doctor --json against a real control plane and accept the token', async () => {
    const doctor = await npx(['doctor', '--json', `--server-url=${server.url}`, `--claude-bin=${FAKE_CLAUDE}`], {
      FOUNDEROS_RUNNER_TOKEN: server.token,
    });
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    const status = (name: string) => report.checks.find((check) => check.name === name)?.status;
    expect(status('server'), doctor.stdout).toBe('ok');
    expect(status('token'), doctor.stdout).toBe('ok');
    expect(status('agent claude'), doctor.stdout).toBe('ok');
    expect(doctor.code).toBe(report.ok ? 0 : 1);
    expect(doctor.stdout).not.toContain(server.token);
  });

  it('should run the demo to a completed job', async () => {
    const demo = await npx(['demo']);
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(demo.stdout).toContain('completed');
  });

  it('should expose @founderos/runner/operators at run time, with its types', async () => {
    const imported = await exportsOf('@founderos/runner/operators');
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toEqual(
      expect.arrayContaining([
        'activeWhile',
        'alongside',
        'batch',
        'isTransientError',
        'poll',
        'retryBackoff',
        'sequenceEvents',
        'splitLines',
      ]),
    );

    const typed = await typecheck(
      'check.ts',
      "import type { OperatorFunction } from 'rxjs';\n" +
        "import { batch, type BatchOptions } from '@founderos/runner/operators';\n" +
        'const options: BatchOptions = { windowMs: 50, max: 32 };\n' +
        'export const op: OperatorFunction<string, string[]> = batch<string>(options);\n',
    );
    expect(typed.code, typed.stdout + typed.stderr).toBe(0);
    expect(existsSync(join(app, 'node_modules', '@founderos', 'runner', 'dist', 'operators', 'index.d.ts'))).toBe(true);
  });

  it('should expose the control plane as @founderos/runner/control-plane, and not from the package root', async () => {
    const plane = await exportsOf('@founderos/runner/control-plane');
    expect(plane.code, plane.stderr).toBe(0);
    expect(JSON.parse(plane.stdout)).toEqual(expect.arrayContaining(['startControlPlane', 'AdminClient', 'openDb', 'migrate']));
    const root = await exportsOf('@founderos/runner');
    expect(root.code, root.stderr).toBe(0);
    expect(JSON.parse(root.stdout)).toEqual(expect.arrayContaining(['runDaemon', 'batch']));
    expect(JSON.parse(root.stdout)).not.toContain('startControlPlane');

    const typed = await typecheck(
      'check-control-plane.ts',
      "import { startControlPlane, type ControlPlaneOptions } from '@founderos/runner/control-plane';\n" +
        'const options: ControlPlaneOptions = { longPollMs: 1_000 };\n' +
        'export const started = startControlPlane(options);\n',
    );
    expect(typed.code, typed.stdout + typed.stderr).toBe(0);
  });
});
