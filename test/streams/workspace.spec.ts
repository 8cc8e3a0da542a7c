import { chmodSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWorkDir, openWorkspace, workspaceName } from '../../src/streams/workspace.js';

const newRoot = () => mkdtempSync(join(tmpdir(), 'workspaces-'));

describe('workspaceName', () => {
  it('should keep a plain agent id as it is', () => {
    expect(workspaceName('3f2c1a9e-8d4b-4c1a-9e8d-4b4c1a9e8d4b')).toBe('3f2c1a9e-8d4b-4c1a-9e8d-4b4c1a9e8d4b');
    expect(workspaceName('Claude_1.2')).toBe('Claude_1.2');
  });

  it.each(['..', '.', '../../etc', 'a/b', '/abs', '', ' spaced ', 'x'.repeat(200), '-flag'])(
    'should turn %j into one folder name of its own, inside the root',
    (agentId) => {
      const name = workspaceName(agentId);
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*~[0-9a-f]{16}$/);
      expect(name.length).toBeLessThanOrEqual(80);
    },
  );

  it('should never give two ids the same folder, however alike their plain parts', () => {
    const ids = ['a/b', 'a.b', 'a b', 'a_b', 'a\\b', 'a:b'];
    expect(new Set(ids.map(workspaceName)).size).toBe(ids.length);
  });
});

describe('openWorkspace', () => {
  it('should make a private folder for the agent, and find the same one, with what it holds, the next time', () => {
    const root = newRoot();
    const dir = openWorkspace(root, 'agent-1');
    expect(dir).toBe(join(root, 'agent-1'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    writeFileSync(join(dir, 'session.jsonl'), 'kept');
    chmodSync(dir, 0o755);
    expect(openWorkspace(root, 'agent-1')).toBe(dir);
    expect(statSync(join(dir, 'session.jsonl')).size).toBe(4);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(openWorkspace(root, 'agent-2')).not.toBe(dir);
  });

  it('should refuse a link planted in place of a workspace, naming it', () => {
    const root = newRoot();
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), join(root, 'agent-1'));
    expect(() => openWorkspace(root, 'agent-1')).toThrow(new RegExp(`the workspace ${join(root, 'agent-1')} is not a directory of yours`));
  });

  it('should refuse a workspace another user owns', () => {
    const root = newRoot();
    const uid = statSync(root).uid;
    expect(() => openWorkspace(root, 'agent-1', uid + 1)).toThrow(/not a directory of yours/);
  });
});

describe('defaultWorkDir', () => {
  it("should be beside the spool in the runner's state directory", () => {
    expect(defaultWorkDir({ XDG_STATE_HOME: '/state' })).toBe('/state/founderos-runner/workspaces');
  });
});
