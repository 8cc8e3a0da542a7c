import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';
import { join } from 'node:path';
import { argvValue, foldStreamJsonResult, hasBlock, stateDir, unknownSessionMatcher } from './shared.js';

/** Claude Code in headless mode: `claude --print --output-format stream-json --verbose`, prompt on stdin. */
export const claudeAdapter: AgentAdapter = {
  name: 'claude',
  defaultBin: 'claude',
  versionArgs: ['--version'],
  installHint: 'install Claude Code (npm install -g @anthropic-ai/claude-code) or pass --claude-bin=/full/path/to/claude',
  // Its login, settings and sessions live in CLAUDE_CONFIG_DIR, else ~/.claude, and its global config in .claude.json
  // beside that directory's contents: inside CLAUDE_CONFIG_DIR when set, else in the home directory itself.
  statePaths(home, env) {
    const configDir = env.CLAUDE_CONFIG_DIR;
    if (configDir) return [stateDir(configDir)];
    return [stateDir(join(home, '.claude')), { path: join(home, '.claude.json'), kind: 'file' }];
  },

  launch(job, { instructionsPath }) {
    const args = ['--print', '--output-format', 'stream-json', '--verbose'];
    const { model, maxTurns } = job.runtimeConfig;
    // Every value from the job goes through argvValue: `--resume` takes an optional value, so a session id starting
    // with "-" would be read as a flag, and so would a directory after the variadic `--add-dir`.
    if (job.sessionId) args.push('--resume', argvValue('sessionId', job.sessionId));
    if (model) args.push('--model', argvValue('runtimeConfig.model', model));
    if (maxTurns) args.push('--max-turns', argvValue('runtimeConfig.maxTurns', maxTurns));
    if (instructionsPath) args.push('--append-system-prompt-file', instructionsPath);
    // `--add-dir` is variadic: one flag per directory keeps a later argument from being swallowed.
    (job.addDirs ?? []).forEach((dir, index) => args.push('--add-dir', argvValue(`addDirs[${index}]`, dir)));
    return { args, stdin: job.prompt };
  },

  kindOf(message): StdoutEventKind {
    switch (message.type) {
      case 'result':
        return 'claude_result';
      case 'assistant':
        return hasBlock(message, 'tool_use') ? 'claude_tool_use' : 'claude_message';
      case 'user':
        return hasBlock(message, 'tool_result') ? 'claude_tool_result' : 'claude_message';
      default:
        return 'claude_message';
    }
  },

  report(previous, message): RunReport {
    return foldStreamJsonResult(previous, message, 'claude', message.total_cost_usd);
  },

  // In the result text ("No conversation found with session ID: …"), or only on stderr when the CLI printed no JSON;
  // an id that is not a UUID is refused as 'Provided value "x" is not a UUID and does not match any session title'.
  isUnknownSession: unknownSessionMatcher([
    /No conversation found with session ID/i,
    /is not a UUID and does not match any session title/i,
  ]),
};
