import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultSpoolDir } from './spool.js';

/**
 * Each agent works in a directory of its own, created by the runner under one root and kept across that agent's jobs:
 * Claude Code and Gemini keep their sessions per working directory, so a resume must find the same one. The root is
 * private (0700, see ensurePrivateDir), and so is each workspace.
 */

/** Beside the spool in the runner's state directory: `$XDG_STATE_HOME/founderos-runner/workspaces`, else `~/.local/state/…`. */
export function defaultWorkDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(defaultSpoolDir(env)), 'workspaces');
}

/** An agent id that is a plain name is its own folder name; these characters and length keep it one. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/**
 * The folder name of `agentId`'s workspace: the id itself when it is a plain name, else what is plain of it and a hash
 * of the whole id, so that two ids never share a folder and none can name a path (`..`, `/`) outside the root.
 */
export function workspaceName(agentId: string): string {
  if (PLAIN_NAME.test(agentId)) return agentId;
  const plain =
    agentId
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[._-]+/, '')
      .slice(0, 40) || 'agent';
  return `${plain}~${createHash('sha256').update(agentId).digest('hex').slice(0, 16)}`;
}

/**
 * The workspace of `agentId` under `root` (which must exist): created 0700 when missing, kept with what it holds when
 * it exists, and made 0700 again. A workspace that is not a directory of this user (a link planted in its place would
 * send the agent elsewhere) is refused with an Error naming it.
 */
export function openWorkspace(root: string, agentId: string, uid = process.getuid?.()): string {
  const dir = join(root, workspaceName(agentId));
  mkdirSync(dir, { mode: 0o700, recursive: true });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid))
    throw new Error(
      `the workspace ${dir} is not a directory of yours (a link or a file stands there, or another user owns it); ` +
        'remove it, and the runner makes a new one',
    );
  if ((stat.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  return dir;
}
