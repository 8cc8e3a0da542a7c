import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';
import { join } from 'node:path';
import {
  argvValue,
  objectAt,
  promptWithInstructions,
  stateDir,
  textAt,
  unknownSessionMatcher,
  type Json,
  usageLimitMatcher,
} from './shared.js';
import { localClockTime, retryInText } from './reset-time.js';

/** Item types of the thread/turn/item stream that are tool calls: `item.started` opens one, `item.completed` ends it. */
const TOOL_ITEMS = new Set(['command_execution', 'mcp_tool_call', 'file_change', 'web_search']);
/** The same in the older `{id, msg}` envelope. */
const OLD_TOOL_BEGIN = new Set(['exec_command_begin', 'mcp_tool_call_begin', 'patch_apply_begin']);
const OLD_TOOL_END = new Set(['exec_command_end', 'mcp_tool_call_end', 'patch_apply_end']);

/** The inner event of the older `{"id": …, "msg": {"type": …}}` envelope (before about v0.44), if this is one. */
const envelopeOf = (event: Json): Json | undefined => (typeof event.type === 'string' ? undefined : objectAt(event.msg));
const isToolItem = (event: Json) => TOOL_ITEMS.has(String(objectAt(event.item)?.type));

/**
 * OpenAI Codex CLI: `codex exec --json [--model M] [--skip-git-repo-check] [--add-dir D]… -`, prompt on stdin (`-`);
 * resume with `codex exec --json … resume <thread_id> -` (exec flags go before `resume` and are passed again, since
 * only the conversation is kept). Codex reads stdin until EOF whenever it is not a TTY, so the runner must close it.
 */
export const codexAdapter: AgentAdapter = {
  name: 'codex',
  defaultBin: 'codex',
  versionArgs: ['--version'],
  installHint: 'install the Codex CLI (npm install -g @openai/codex) or pass --codex-bin=/full/path/to/codex',
  // Login (auth.json), config and sessions: $CODEX_HOME, else ~/.codex.
  statePaths: (home, env) => [stateDir(env.CODEX_HOME || join(home, '.codex'))],

  launch(job, { instructions }) {
    const args = ['exec', '--json'];
    const { model } = job.runtimeConfig;
    if (model) args.push('--model', argvValue('runtimeConfig.model', model));
    // Codex refuses to run outside a git repository unless told not to check; the runner's workspace need not be
    // one. Exec mode's own sandbox (read-only by default) still applies. `runtimeConfig.skipGitRepoCheck: false` keeps the check.
    if (job.runtimeConfig.skipGitRepoCheck !== false) args.push('--skip-git-repo-check');
    (job.addDirs ?? []).forEach((dir, index) => args.push('--add-dir', argvValue(`addDirs[${index}]`, dir)));
    // A positional: `resume --dangerously-bypass-approvals-and-sandbox` would be the flag, not a session id.
    if (job.sessionId) args.push('resume', argvValue('sessionId', job.sessionId));
    args.push('-');
    // No system-prompt flag: the instructions lead the prompt of a new session (AGENTS.md is still loaded by codex).
    return { args, stdin: promptWithInstructions(job.prompt, instructions, Boolean(job.sessionId)) };
  },

  kindOf(message): StdoutEventKind {
    const old = envelopeOf(message);
    if (old) {
      const type = String(old.type);
      if (OLD_TOOL_BEGIN.has(type)) return 'tool_call';
      if (OLD_TOOL_END.has(type)) return 'tool_result';
      return type === 'task_complete' ? 'run_complete' : 'model_message';
    }
    switch (message.type) {
      case 'item.started':
      case 'item.updated':
        return isToolItem(message) ? 'tool_call' : 'model_message';
      case 'item.completed':
        return isToolItem(message) ? 'tool_result' : 'model_message';
      case 'turn.completed':
      case 'turn.failed':
        return 'run_complete';
      default:
        return 'model_message';
    }
  },

  report(previous, message): RunReport {
    const old = envelopeOf(message);
    if (old) return foldOldEnvelope(previous, old);
    switch (message.type) {
      case 'thread.started':
        return { ...previous, sessionId: textAt(message.thread_id) ?? previous.sessionId };
      // The terminal event decides: an `error` before a `turn.completed` was a transient notice (a reconnect) that
      // codex recovered from; a fatal one ends the turn with `turn.failed` instead.
      case 'turn.completed':
        return { ...previous, reportedError: false, errorText: undefined };
      case 'turn.failed':
        return {
          ...previous,
          reportedError: true,
          errorText: textAt(objectAt(message.error)?.message) ?? previous.errorText ?? 'codex reported turn.failed',
        };
      case 'error':
        return { ...previous, reportedError: true, errorText: textAt(message.message) ?? 'codex reported an error' };
      default:
        // Codex reports no cost (only tokens, cumulative over a resumed thread): costMicros stays undefined.
        return previous;
    }
  },

  // Codex garbage-collects old rollouts; a resume of one fails with one of these. ("state db missing rollout path
  // for thread …" is left out: codex also logs it to stderr as noise on runs that succeed.)
  isUnknownSession: unknownSessionMatcher([/no rollout found/i, /thread not found/i, /thread\/resume failed/i]),

  // A plan's limit: "You’ve hit your usage limit. … or try again at 3:28 PM." (local time; "Aug 8th, 2026 12:30 PM"
  // on another day). An API key's: "Quota exceeded. Check your plan and billing details." (insufficient_quota), or a
  // 429 whose retries ran out: "exceeded retry limit, last status: 429 Too Many Requests, request id: …".
  usageLimit: usageLimitMatcher(
    [/\bhit your usage limit\b/i, /\bQuota exceeded\b/i, /\b429 Too Many Requests\b/, /\b(?:usage_limit_reached|insufficient_quota)\b/],
    (text, now) => localClockTime(text, now) ?? retryInText(text, now),
  ),
};

function foldOldEnvelope(previous: RunReport, msg: Json): RunReport {
  switch (msg.type) {
    case 'session_configured':
      return { ...previous, sessionId: textAt(msg.session_id) ?? previous.sessionId };
    // Transient trouble was `stream_error` in this schema; `error` was fatal, so `task_complete` does not clear it.
    case 'error':
      return { ...previous, reportedError: true, errorText: textAt(msg.message) ?? 'codex reported an error' };
    case 'task_complete':
      return { ...previous, reportedError: previous.reportedError === true };
    default:
      return previous;
  }
}
