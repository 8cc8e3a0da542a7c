import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';
import { join } from 'node:path';
import { argvValue, foldStreamJsonResult, promptWithInstructions, stateDir, usdToMicros, xdgHome } from './shared.js';

/**
 * Cursor CLI: `cursor-agent -p --output-format stream-json --trust [--model M] [--resume <chatId>]`, prompt on stdin
 * (newer installs name the binary `agent`: pass --cursor-bin=agent). Its stream is modelled on Claude Code's, with
 * separate `tool_call` events; success is read the same way, from the `result` event.
 */
export const cursorAdapter: AgentAdapter = {
  name: 'cursor',
  defaultBin: 'cursor-agent',
  versionArgs: ['--version'],
  installHint: 'install the Cursor CLI (curl https://cursor.com/install -fsS | bash) or pass --cursor-bin=/full/path/to/cursor-agent',
  // Its login and CLI config (~/.config/cursor) and its projects' chats and rules (~/.cursor).
  statePaths: (home, env) => [stateDir(join(home, '.cursor')), stateDir(join(xdgHome(env, home, 'XDG_CONFIG_HOME', '.config'), 'cursor'))],

  launch(job, { instructions }) {
    // Without `--trust` (or --yolo / --force) a headless run stops at "Workspace Trust Required". `--trust` trusts
    // the working directory only; it does not auto-approve commands the way --yolo/--force would.
    const args = ['-p', '--output-format', 'stream-json', '--trust'];
    const { model } = job.runtimeConfig;
    if (model) args.push('--model', argvValue('runtimeConfig.model', model));
    if (job.sessionId) args.push('--resume', argvValue('sessionId', job.sessionId));
    // No flag for extra directories (only `--workspace <dir>`, the run's own directory): `job.addDirs` is not passed.
    // No system-prompt flag (rules and AGENTS.md only): the instructions lead the prompt of a new session.
    return { args, stdin: promptWithInstructions(job.prompt, instructions, Boolean(job.sessionId)) };
  },

  kindOf(message): StdoutEventKind {
    switch (message.type) {
      case 'tool_call':
        return message.subtype === 'completed' ? 'tool_result' : 'tool_call';
      case 'result':
        return 'run_complete';
      default:
        // system/init, assistant, user echo, thinking deltas, anything newer.
        return 'model_message';
    }
  },

  report(previous, message): RunReport {
    // Cursor reports no cost today; take one if a build adds it under any of the names seen in the wild.
    const cost = [message.total_cost_usd, message.cost_usd, message.cost].find((usd) => usdToMicros(usd) !== undefined);
    return foldStreamJsonResult(previous, message, 'cursor', cost);
  },
  // No isUnknownSession: the wording of a failed `--resume` is not known.
};
