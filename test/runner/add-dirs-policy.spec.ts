import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grantAddDirs, type AddDirsPolicy } from '../../src/runner/add-dirs-policy.js';
import { credentialStores } from '../../src/runner/credential-stores.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'add-dirs-')));
const at = (...parts: string[]) => join(root, ...parts);
for (const dir of [
  'home/.ssh',
  'home/.config/gcloud',
  'home/projects/app',
  'state/spool',
  'state/workspaces/agent-1/sub',
  'state/workspaces/agent-2',
  'srv/data',
])
  mkdirSync(at(dir), { recursive: true });
writeFileSync(at('token'), 'fos_x');
writeFileSync(at('home/projects/notes.txt'), '');
symlinkSync(at('home/.ssh'), at('home/projects/keys'));
const workspace = at('state/workspaces/agent-1');

const policy = (allowed: string[] = []): AddDirsPolicy => ({
  home: at('home'),
  runnerPaths: [at('state/spool'), at('state/workspaces'), at('token')],
  credentialStores: credentialStores(at('home')),
  allowed,
});
const grant = (dirs: string[], allowed?: string[]) => grantAddDirs(dirs, workspace, policy(allowed));

describe('grantAddDirs: the extra directories a job may be granted', () => {
  it('should grant ordinary directories, absolute, relative to the workspace, or within it', () => {
    expect(grant([at('home/projects/app'), at('srv/data'), 'sub', '../agent-1/sub'])).toEqual({
      dirs: [at('home/projects/app'), at('srv/data'), at('state/workspaces/agent-1/sub'), at('state/workspaces/agent-1/sub')],
    });
    expect(grant([])).toEqual({ dirs: [] });
  });

  it.each([
    ['/', 'is the root of the filesystem', '--allow-dir=/'],
    ['HOME', 'is your home directory', '--allow-dir='],
    ['ROOT', 'holds your home directory', '--allow-dir='],
    ['home/.ssh', 'is the credential store', '--allow-dir='],
    ['home/.config', 'holds the credential store', '--allow-dir='],
    ['home/.config/gcloud', 'is the credential store', '--allow-dir='],
    ['home/projects/keys', 'is the credential store', '--allow-dir='],
  ])('should refuse %s: it %s, and say how to allow it', (entry, why, fix) => {
    const dir = entry === '/' ? '/' : entry === 'HOME' ? at('home') : entry === 'ROOT' ? root : at(entry);
    const granted = grant([at('srv/data'), dir]);
    expect(granted).toEqual({ refused: expect.stringContaining(`addDirs[1] ${JSON.stringify(dir)}`) });
    const { refused } = granted as { refused: string };
    expect(refused).toContain(why);
    expect(refused).toContain('so the job was not started');
    expect(refused).toContain(fix);
  });

  it("should never grant the runner's own places, nor another agent's workspace, whatever is allowed", () => {
    for (const dir of [at('state/spool'), at('state/workspaces'), at('state/workspaces/agent-2'), at('state'), root, '/']) {
      const granted = grant([dir], ['/']);
      expect(granted).toEqual({ refused: expect.stringMatching(/the runner's own .*the runner never grants its token, config, spool/) });
    }
  });

  it('should grant what the owner allowed with --allow-dir, and what lies beneath it', () => {
    expect(grant([at('home/.ssh')], [at('home/.ssh')])).toEqual({ dirs: [at('home/.ssh')] });
    expect(grant([at('home/.config/gcloud')], [at('home/.config')])).toEqual({ dirs: [at('home/.config/gcloud')] });
    expect(grant([at('home')], [at('home')])).toEqual({ dirs: [at('home')] });
  });

  it('should refuse an entry that is no directory here, naming it', () => {
    expect(grant([at('nowhere')])).toEqual({
      refused: expect.stringMatching(/addDirs\[0\] ".*nowhere" is not a directory on the runner’s machine/),
    });
    expect(grant([at('home/projects/notes.txt')])).toEqual({ refused: expect.stringMatching(/is not a directory/) });
  });
});
