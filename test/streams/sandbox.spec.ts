import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bubblewrapArgs, isVisible, probeSandbox, programIn, type SandboxLayout } from '../../src/streams/sandbox.js';
import { scratchDir } from '../support/temp-dir.js';

const layout: SandboxLayout = {
  hidden: [
    { path: '/home/ada/.local/state/founderos-runner/workspaces', kind: 'dir' },
    { path: '/home/ada/.ssh', kind: 'dir' },
    { path: '/home/ada/.netrc', kind: 'file' },
  ],
  writable: ['/home/ada/.local/state/founderos-runner/workspaces/agent-1', '/home/ada/.claude'],
  secret: [
    { path: '/home/ada/.local/state/founderos-runner/spool', kind: 'dir' },
    { path: '/home/ada/token', kind: 'file' },
  ],
  readable: ['/home/ada/.gnupg'],
  instructions: '/home/ada/.local/state/founderos-runner/spool/job.instructions.md',
  workdir: '/home/ada/.local/state/founderos-runner/workspaces/agent-1',
};

describe('bubblewrapArgs', () => {
  it('should start every sandbox alike, then hide, bind, open the read-only holes, hide the secrets, show the instructions, and seal the masks', () => {
    expect(bubblewrapArgs(layout)).toEqual([
      ...['--unshare-pid', '--unshare-ipc', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
      ...['--tmpfs', '/home/ada/.local/state/founderos-runner/workspaces', '--tmpfs', '/home/ada/.ssh'],
      ...['--ro-bind', '/dev/null', '/home/ada/.netrc'],
      ...['--bind', layout.writable[0], layout.writable[0], '--bind', '/home/ada/.claude', '/home/ada/.claude'],
      ...['--ro-bind', '/home/ada/.gnupg', '/home/ada/.gnupg'],
      ...['--tmpfs', '/home/ada/.local/state/founderos-runner/spool', '--ro-bind', '/dev/null', '/home/ada/token'],
      ...['--ro-bind', layout.instructions, layout.instructions],
      ...['--remount-ro', '/home/ada/.local/state/founderos-runner/workspaces', '--remount-ro', '/home/ada/.ssh'],
      ...['--remount-ro', '/home/ada/.local/state/founderos-runner/spool'],
      ...['--setenv', 'TMPDIR', '/tmp', '--chdir', layout.workdir, '--'],
    ]);
  });
});

describe('isVisible: what a sandbox of a layout shows, as bwrap lays the mounts out in order', () => {
  it.each([
    ['/usr/bin/node', true, 'the rest of the filesystem, read-only'],
    ['/tmp/agent.mjs', false, 'the host’s /tmp (the sandbox has its own)'],
    ['/home/ada/.ssh/id_ed25519', false, 'a hidden credential store'],
    ['/home/ada/.netrc', false, 'a hidden file'],
    ['/home/ada/.local/state/founderos-runner/workspaces/agent-2/notes', false, 'another agent’s workspace'],
    ['/home/ada/.local/state/founderos-runner/workspaces/agent-1/notes', true, 'its own workspace, a hole in the mask'],
    ['/home/ada/.local/state/founderos-runner/spool/job.stdout', false, 'the spool'],
    ['/home/ada/.local/state/founderos-runner/spool/job.instructions.md', true, 'its instructions, a hole in the spool'],
    ['/home/ada/.sshd/x', true, 'a neighbour whose name only starts like a hidden one'],
  ])('%s: %s (%s)', (path, visible) => {
    expect(isVisible(layout, path)).toBe(visible);
  });
});

describe('probeSandbox', () => {
  it('should say how to install bubblewrap when bwrap is not on PATH', () => {
    const probe = probeSandbox({ PATH: '/nonexistent' }, 'linux');
    expect(probe).toMatchObject({ works: false, reason: expect.stringMatching(/bwrap \(bubblewrap\) is not installed/) });
    expect(!probe.works && probe.fix).toMatch(/sudo apt-get install bubblewrap/);
  });

  it('should say there is no sandbox on another platform, and what to do instead', () => {
    expect(probeSandbox(process.env, 'darwin')).toMatchObject({ works: false, reason: expect.stringMatching(/no sandbox for darwin/) });
  });

  it('should say what bwrap said when it cannot create the sandbox, with a fix', () => {
    // A "bwrap" that fails the way a kernel without unprivileged user namespaces makes it fail.
    const dir = scratchDir('fake-bwrap-');
    try {
      const fake = join(dir, 'bwrap');
      writeFileSync(fake, '#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n', { mode: 0o755 });
      const probe = probeSandbox({ PATH: `${dir}:${process.env.PATH}` }, 'linux');
      expect(probe).toMatchObject({
        works: false,
        reason: `${fake} cannot create the sandbox here: bwrap: No permissions to creating new namespace`,
      });
      expect(!probe.works && probe.fix).toBeTruthy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const here = probeSandbox();

describe('programIn', () => {
  it('should fail with ENOENT for a program that is not on PATH', () => {
    expect(() => programIn(layout, 'no-such-agent-cli', process.env)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('should refuse a program that the sandbox would hide, saying why', () => {
    const dir = scratchDir('hidden-bin-');
    try {
      writeFileSync(join(dir, 'agent'), '#!/bin/sh\n', { mode: 0o755 });
      const hiding: SandboxLayout = { ...layout, hidden: [{ path: dir, kind: 'dir' }] };
      expect(() => programIn(hiding, 'agent', { PATH: dir })).toThrow(/is hidden in the sandbox.*--sandbox=off/);
      // Found through a link, it is judged where it really is.
      mkdirSync(join(dir, 'bin'));
      symlinkSync(join(dir, 'agent'), join(dir, 'bin', 'agent'));
      const showingTheLink: SandboxLayout = { ...hiding, writable: [join(dir, 'bin')] };
      expect(() => programIn(showingTheLink, 'agent', { PATH: join(dir, 'bin') })).toThrow(/is hidden in the sandbox/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should give the program as found on PATH', () => {
    expect(programIn(layout, 'sh', { PATH: '/usr/bin:/bin' })).toMatch(/^\/(usr\/)?bin\/sh$/);
  });
});

describe.skipIf(!here.works)('a real sandbox of a layout (bwrap on this machine)', () => {
  const root = scratchDir('sandbox-spec-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const path = (...parts: string[]) => join(root, ...parts);
  for (const dir of ['work/a', 'work/b', 'home/.ssh', 'state', 'spool']) mkdirSync(path(dir), { recursive: true });
  writeFileSync(path('work/b/secret'), 'b');
  writeFileSync(path('home/.ssh/id'), 'key');
  writeFileSync(path('token'), 'fos_x');
  writeFileSync(path('spool/j.instructions.md'), 'be brief');
  writeFileSync(path('spool/j.stdout'), 'other output');
  const real: SandboxLayout = {
    hidden: [
      { path: path('work'), kind: 'dir' },
      { path: path('home/.ssh'), kind: 'dir' },
    ],
    writable: [path('work/a'), path('state')],
    secret: [
      { path: path('spool'), kind: 'dir' },
      { path: path('token'), kind: 'file' },
    ],
    readable: [],
    instructions: path('spool/j.instructions.md'),
    workdir: path('work/a'),
  };
  const run = (script: string) => {
    const bwrap = here.works ? here.bwrap : 'bwrap';
    const result = spawnSync(bwrap, [...bubblewrapArgs(real), '/bin/sh', '-c', script], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: '/elsewhere' },
    });
    return `${result.stdout}${result.stderr}`.trim();
  };

  it('should show what the layout shows and hide the rest', () => {
    expect(
      run(
        `ls ${path('work')}; ls -A ${path('home/.ssh')}; cat ${path('token')} 2>/dev/null || echo "(token unreadable)"; ls ${path('spool')}; cat ${path('spool/j.instructions.md')}`,
      ),
    ).toBe('a\n(token unreadable)\nj.instructions.md\nbe brief');
  });

  it('should let it write its workspace, its state and a private /tmp, and nothing else', () => {
    const out = run(
      'for f in ./made state/made /tmp/made home/made work/b/made spool/made home/.ssh/made; do ' +
        `(echo x > ${root}/$f || echo x > $f) 2>/dev/null && echo "wrote $f"; done; echo "TMPDIR=$TMPDIR cwd=$(pwd)"`,
    );
    expect(out).toBe(`wrote ./made\nwrote state/made\nwrote /tmp/made\nTMPDIR=/tmp cwd=${path('work/a')}`);
    expect(existsSync(path('work/a/made'))).toBe(true);
    expect(existsSync(path('home/made'))).toBe(false);
    expect(readFileSync(path('work/b/secret'), 'utf8')).toBe('b');
    expect(existsSync('/tmp/made')).toBe(false);
  });

  it('should give it a PID namespace of its own: no process of the host is visible', () => {
    const pids = run('ls /proc | grep -E "^[0-9]+$"').split('\n').map(Number);
    expect(Math.max(...pids)).toBeLessThan(10);
    expect(pids).not.toContain(process.pid);
  });
});
