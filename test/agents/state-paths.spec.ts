import { describe, expect, it } from 'vitest';
import {
  claudeAdapter,
  codexAdapter,
  cursorAdapter,
  geminiAdapter,
  opencodeAdapter,
  piAdapter,
  processAdapter,
  type AgentAdapter,
} from '../../src/agents/index.js';

const HOME = '/home/ada';
const pathsOf = (adapter: AgentAdapter, env: NodeJS.ProcessEnv = {}) => adapter.statePaths(HOME, env);

describe("each adapter's own state (writable in the sandbox, hidden from the other CLIs' runs)", () => {
  it.each([
    [
      'claude',
      claudeAdapter,
      [
        { path: '/home/ada/.claude', kind: 'dir' },
        { path: '/home/ada/.claude.json', kind: 'file' },
      ],
    ],
    ['codex', codexAdapter, [{ path: '/home/ada/.codex', kind: 'dir' }]],
    ['gemini', geminiAdapter, [{ path: '/home/ada/.gemini', kind: 'dir' }]],
    [
      'opencode',
      opencodeAdapter,
      ['.local/share', '.config', '.cache', '.local/state'].map((base) => ({ path: `/home/ada/${base}/opencode`, kind: 'dir' })),
    ],
    ['pi', piAdapter, [{ path: '/home/ada/.pi/agent', kind: 'dir' }]],
    [
      'cursor',
      cursorAdapter,
      [
        { path: '/home/ada/.cursor', kind: 'dir' },
        { path: '/home/ada/.config/cursor', kind: 'dir' },
      ],
    ],
    ['process', processAdapter, []],
  ])('should name where %s keeps its login and sessions by default', (_name, adapter, expected) => {
    expect(pathsOf(adapter)).toEqual(expected);
  });

  it('should follow the variables that move a CLI’s state elsewhere', () => {
    // Claude Code keeps .claude.json inside CLAUDE_CONFIG_DIR when it is set.
    expect(pathsOf(claudeAdapter, { CLAUDE_CONFIG_DIR: '/srv/claude' })).toEqual([{ path: '/srv/claude', kind: 'dir' }]);
    expect(pathsOf(codexAdapter, { CODEX_HOME: '/srv/codex' })).toEqual([{ path: '/srv/codex', kind: 'dir' }]);
    expect(pathsOf(geminiAdapter, { GEMINI_CLI_HOME: '/srv/g' })).toEqual([{ path: '/srv/g/.gemini', kind: 'dir' }]);
    expect(
      pathsOf(opencodeAdapter, { XDG_DATA_HOME: '/d', XDG_CONFIG_HOME: '/c', XDG_CACHE_HOME: 'relative', XDG_STATE_HOME: '' }),
    ).toEqual(
      // A relative or empty XDG variable is ignored, as the XDG rule says.
      ['/d/opencode', '/c/opencode', '/home/ada/.cache/opencode', '/home/ada/.local/state/opencode'].map((path) => ({ path, kind: 'dir' })),
    );
    expect(pathsOf(piAdapter, { PI_CODING_AGENT_DIR: '~/pi-agent', PI_CODING_AGENT_SESSION_DIR: '/srv/pi-sessions' })).toEqual([
      { path: '/home/ada/pi-agent', kind: 'dir' },
      { path: '/srv/pi-sessions', kind: 'dir' },
    ]);
    expect(pathsOf(cursorAdapter, { XDG_CONFIG_HOME: '/c' })).toEqual([
      { path: '/home/ada/.cursor', kind: 'dir' },
      { path: '/c/cursor', kind: 'dir' },
    ]);
  });
});
