import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorCommand, processDoctorDeps, type DoctorReport } from '../../src/cli/doctor.js';
import type { SandboxProbe } from '../../src/streams/sandbox.js';

const works: SandboxProbe = { works: true, bwrap: '/usr/bin/bwrap', version: 'bubblewrap 0.8.0' };
const restricted: SandboxProbe = {
  works: false,
  bwrap: '/usr/bin/bwrap',
  reason: '/usr/bin/bwrap cannot create the sandbox here: bwrap: setting up uid map: Permission denied',
  fix: 'AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10 and later): give bwrap a profile …',
};

/** The doctor's sandbox and work dir checks, on a machine whose sandbox probe answers `probe`. */
async function doctor(argv: string[], probe: SandboxProbe) {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-sandbox-'));
  const env = { PATH: '/nonexistent', XDG_STATE_HOME: join(dir, 'state') };
  let output = '';
  const code = await doctorCommand(
    ['--json', ...argv],
    { ...processDoctorDeps(env), location: { cwd: dir, home: join(dir, 'home'), env }, probeSandbox: () => probe },
    { stdout: (text) => (output += text), stderr: (text) => (output += text) },
  );
  const report = JSON.parse(output) as DoctorReport;
  return { code, dir, check: (name: string) => report.checks.find((check) => check.name === name)! };
}

describe('founderos-runner doctor: the sandbox and the workspaces', () => {
  it('should report the sandbox on where bwrap works, and where the workspaces go', async () => {
    const { check, dir } = await doctor([], works);
    expect(check('sandbox')).toEqual({
      name: 'sandbox',
      status: 'ok',
      detail: 'on (--sandbox=auto): bubblewrap 0.8.0 at /usr/bin/bwrap works here',
    });
    expect(check('work dir')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(join(dir, 'state', 'founderos-runner', 'workspaces')),
    });
  });

  it('should warn in auto when the sandbox cannot run, with the exact fix', async () => {
    expect((await doctor([], restricted)).check('sandbox')).toEqual({
      name: 'sandbox',
      status: 'warn',
      detail: expect.stringMatching(
        /^off: \/usr\/bin\/bwrap cannot create the sandbox here: bwrap: setting up uid map: Permission denied; agents run with/,
      ),
      fix: restricted.fix,
    });
  });

  it('should fail --sandbox=on when the sandbox cannot run, since start would refuse', async () => {
    const { check, code } = await doctor(['--sandbox=on'], restricted);
    expect(check('sandbox')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^--sandbox=on, but it cannot run here, so start refuses/),
      fix: restricted.fix,
    });
    expect(code).toBe(1);
  });

  it('should warn that --sandbox=off leaves the agents uncontained, and how to turn it back on', async () => {
    expect((await doctor(['--sandbox=off'], works)).check('sandbox')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^off \(--sandbox=off\): .*; bubblewrap 0.8.0 works here$/),
      fix: 'drop --sandbox=off (or FOUNDEROS_RUNNER_SANDBOX=off) to contain the agents',
    });
  });

  it('should fail a work dir that is the home directory, since start refuses it', async () => {
    const { check, code } = await doctor(['--work-dir=~'], works);
    expect(check('work dir')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/is or holds your home directory/) });
    expect(code).toBe(1);
  });
});
