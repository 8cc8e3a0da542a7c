import { mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentClis, claudeAdapter, codexAdapter, opencodeAdapter, type AgentAdapter } from '../../src/agents/index.js';
import { containJobs, sandboxLayout, type ContainmentSettings, type Placement } from '../../src/runner/containment.js';
import type { ProcessSpec } from '../../src/streams/process.js';
import { isAtOrUnder } from '../../src/streams/sandbox.js';
import { job } from '../agents/support.js';
import { scratchDir } from '../support/temp-dir.js';
import { rmSync } from 'node:fs';

const root = realpathSync(scratchDir('containment-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const at = (...parts: string[]) => join(root, ...parts);
for (const dir of [
  'run/user',
  'home/.ssh',
  'home/.claude',
  'home/.codex',
  'home/.gemini',
  'home/projects/app',
  'state/spool',
  'state/workspaces',
  'config',
])
  mkdirSync(at(dir), { recursive: true });
writeFileSync(at('home/.netrc'), 'machine x password y');
writeFileSync(at('token'), 'fos_x');
writeFileSync(at('state/spool/j1.instructions.md'), 'be brief');

const settings = (extra: Partial<ContainmentSettings> = {}): ContainmentSettings => ({
  workRoot: at('state/workspaces'),
  home: at('home'),
  spoolDir: at('state/spool'),
  runnerFiles: [at('token'), at('config'), at('not-there.json')],
  allowDirs: [],
  expose: [],
  adapters: agentClis,
  ...extra,
});
/** A run of `adapter` in the workspaces' root, with nothing granted and no instructions. */
const runOf = (adapter: AgentAdapter) => ({
  adapter,
  env: { HOME: at('home') },
  workspace: at('state/workspaces'),
  addDirs: [],
  instructionsPath: '',
});
const spec = (): ProcessSpec => ({
  command: 'claude',
  args: ['--print'],
  env: { HOME: at('home'), PATH: process.env.PATH },
  output: { stdout: '', stderr: '' },
});
const place = (contained: ReturnType<ReturnType<typeof containJobs>>) => {
  if ('refused' in contained) throw new Error(contained.refused);
  return contained as Placement;
};

describe('containJobs: each job in its agent’s workspace, with the extra directories the policy grants', () => {
  it("should run the agent in its own workspace, made for it, and sweep the job's processes by its id", () => {
    const contain = containJobs(settings());
    const placed = place(contain(job({ jobId: 'j1', agentId: 'agent-1' }), claudeAdapter, at('state/spool/j1.instructions.md')));
    const placedSpec = placed.place(spec());
    expect(placedSpec.cwd).toBe(at('state/workspaces/agent-1'));
    expect(statSync(placedSpec.cwd!).mode & 0o777).toBe(0o700);
    expect(placedSpec.members?.()).toEqual([]);
    // No sandbox: the program runs as it is.
    expect(placedSpec.wrap).toBeUndefined();
    const other = place(contain(job({ jobId: 'j2', agentId: 'agent-2' }), claudeAdapter, ''));
    expect(other.place(spec()).cwd).toBe(at('state/workspaces/agent-2'));
  });

  it('should hand the agent its extra directories resolved, and fail a job whose directory the policy refuses', () => {
    const contain = containJobs(settings());
    const placed = place(contain(job({ agentId: 'a', addDirs: [at('home/projects/app/../app')] }), claudeAdapter, ''));
    expect(placed.job.addDirs).toEqual([at('home/projects/app')]);
    expect(contain(job({ agentId: 'a', addDirs: [at('home/.ssh')] }), claudeAdapter, '')).toEqual({
      refused: expect.stringMatching(/addDirs\[0\] .* is the credential store .*--allow-dir=/),
    });
    expect(
      place(containJobs(settings({ allowDirs: [at('home/.ssh')] }))(job({ agentId: 'a', addDirs: [at('home/.ssh')] }), claudeAdapter, ''))
        .job.addDirs,
    ).toEqual([at('home/.ssh')]);
  });

  it('should fail the job, not the runner, when the workspace cannot be made', () => {
    writeFileSync(at('state/workspaces/blocked'), 'a file where the workspace would go');
    expect(containJobs(settings())(job({ agentId: 'blocked' }), claudeAdapter, '')).toEqual({
      refused: expect.stringMatching(/^the job cannot start: /),
    });
  });

  it("should refuse to expose the runner's own places, naming them", () => {
    expect(() => containJobs(settings({ expose: [at('state')] }))).toThrow(
      `--expose ${at('state')} holds the runner's own ${at('state/spool')}, which the sandbox never shows to an agent; expose something else`,
    );
    expect(() => containJobs(settings({ expose: [at('token')] }))).toThrow(/is the runner's own/);
  });

  it('should show the runner’s own program when the sandbox would hide it, and only then', () => {
    const run = runOf(codexAdapter);
    mkdirSync(at('home/.ssh/dist'), { recursive: true });
    expect(sandboxLayout(settings({ runnerProgram: at('home/.ssh/dist') }), run).readable).toEqual([at('home/.ssh/dist')]);
    expect(sandboxLayout(settings({ runnerProgram: at('home/projects') }), run).readable).toEqual([]);
  });

  it('should show an agent installed under /tmp, its folder there read-only, unless that folder holds the runner’s places', () => {
    const installed = realpathSync(scratchDir('agent-install-'));
    try {
      mkdirSync(join(installed, 'bin'));
      writeFileSync(join(installed, 'bin/agent'), '#!/bin/sh\n', { mode: 0o755 });
      writeFileSync(at('agent'), '#!/bin/sh\n', { mode: 0o755 });
      const wrappedArgs = (program: string) => {
        const placed = place(containJobs(settings({ bwrap: '/usr/bin/bwrap' }))(job({ agentId: 'a' }), claudeAdapter, ''));
        return placed.place({ ...spec(), command: program }).wrap!(program, [], { PATH: '/usr/bin:/bin', HOME: at('home') })[1];
      };
      if (!isAtOrUnder(installed, '/tmp') || !isAtOrUnder(root, '/tmp')) return; // a TMPDIR elsewhere: nothing is private
      const args = wrappedArgs(join(installed, 'bin/agent'));
      const top = join('/tmp', relative('/tmp', installed).split(sep)[0]!);
      expect(args.join(' ')).toContain(`--ro-bind ${top} ${top}`);
      expect(args.at(-1)).toBe(join(installed, 'bin/agent'));
      // A JavaScript agent, run under this Node: its script's folder is shown.
      writeFileSync(join(installed, 'bin/agent.mjs'), '');
      const script = place(containJobs(settings({ bwrap: '/usr/bin/bwrap' }))(job({ agentId: 'a' }), claudeAdapter, '')).place({
        ...spec(),
        command: process.execPath,
      }).wrap!(process.execPath, [join(installed, 'bin/agent.mjs')], { PATH: '/usr/bin:/bin', HOME: at('home') })[1];
      expect(script.join(' ')).toContain(`--ro-bind ${top} ${top}`);
      // The runner's places are in the folder of this one (the spool, the workspaces): it stays hidden, and says why.
      expect(() => wrappedArgs(at('agent'))).toThrow(/is hidden in the sandbox \(under \/tmp/);
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });

  it('should run the program through bwrap in the sandbox, with the layout of this run', () => {
    const placed = place(containJobs(settings({ bwrap: '/usr/bin/bwrap' }))(job({ agentId: 'a' }), claudeAdapter, ''));
    const wrapped = placed.place({ ...spec(), command: 'sh' }).wrap!('sh', ['-c', ':'], { PATH: '/usr/bin:/bin', HOME: at('home') });
    expect(wrapped[0]).toBe('/usr/bin/bwrap');
    expect(wrapped[1].slice(-4)).toEqual(['--', expect.stringMatching(/\/sh$/), '-c', ':']);
    expect(wrapped[1]).toContain('--unshare-pid');
  });
});

describe('sandboxLayout: what one run sees', () => {
  it('should hide the other agents, the credential stores and the other CLIs’ state; show its own; and never the runner’s', () => {
    const workspace = at('state/workspaces/agent-1');
    mkdirSync(workspace, { recursive: true });
    const layout = sandboxLayout(settings({ expose: [at('home/.netrc')], runtimeDir: at('run/user') }), {
      adapter: codexAdapter,
      env: { HOME: at('home') },
      workspace,
      addDirs: [at('home/projects/app')],
      instructionsPath: at('state/spool/j1.instructions.md'),
    });
    expect(layout).toEqual({
      hidden: [
        { path: at('state/workspaces'), kind: 'dir' },
        { path: at('home/.ssh'), kind: 'dir' },
        { path: at('home/.netrc'), kind: 'file' },
        // The runtime directory: the session bus and the agents' sockets in it reach outside any sandbox.
        { path: at('run/user'), kind: 'dir' },
        // The other CLIs' state that exists: claude's ~/.claude (not its ~/.claude.json, which is not there), gemini's.
        { path: at('home/.claude'), kind: 'dir' },
        { path: at('home/.gemini'), kind: 'dir' },
      ],
      writable: [workspace, at('home/projects/app'), at('home/.codex')],
      readable: [at('home/.netrc')],
      secret: [
        { path: at('state/spool'), kind: 'dir' },
        { path: at('token'), kind: 'file' },
        { path: at('config'), kind: 'dir' },
      ],
      instructions: at('state/spool/j1.instructions.md'),
      workdir: workspace,
    });
  });

  it("should make the CLI's state folders that are missing, so that it has somewhere to write", () => {
    const layout = sandboxLayout(settings(), runOf(opencodeAdapter));
    for (const dir of ['.local/share/opencode', '.config/opencode', '.cache/opencode', '.local/state/opencode']) {
      expect(statSync(at('home', dir)).mode & 0o777).toBe(0o700);
      expect(layout.writable).toContain(at('home', dir));
    }
  });

  it("should not make a CLI's missing state file (the CLI could take an empty one for a damaged one)", () => {
    const layout = sandboxLayout(settings(), runOf(claudeAdapter));
    expect(layout.writable).toContain(at('home/.claude'));
    expect(layout.writable).not.toContain(at('home/.claude.json'));
  });
});
