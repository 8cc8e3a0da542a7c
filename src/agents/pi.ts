import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';
import { join } from 'node:path';
import { addUsd, argvValue, objectAt, objectsIn, stateDir, textAt, unknownSessionMatcher, type Json, usageLimitMatcher } from './shared.js';
import { retryInText } from './reset-time.js';

/** Stop reasons of an assistant message that mean the turn failed. */
const FAILED_STOPS = new Set(['error', 'aborted']);

/**
 * pi (pi-mono coding agent): `pi --mode json -p [--append-system-prompt <file>] [--provider P] [--model M]
 * [--session <id>]`, prompt on stdin (print mode merges piped stdin into the prompt). Pi can exit 0 after an error,
 * so the verdict comes from the stream: the last assistant message's stop reason, failed retries, error events.
 */
export const piAdapter: AgentAdapter = {
  name: 'pi',
  defaultBin: 'pi',
  versionArgs: ['--version'],
  installHint: 'install pi (npm install -g @earendil-works/pi-coding-agent, its name since 0.74) or pass --pi-bin=/full/path/to/pi',
  // Its agent folder (auth.json, models, settings, sessions): $PI_CODING_AGENT_DIR ("~/" allowed), else ~/.pi/agent; and
  // $PI_CODING_AGENT_SESSION_DIR when sessions are kept elsewhere.
  statePaths(home, env) {
    const tilde = (path: string) => (path === '~' || path.startsWith('~/') ? join(home, path.slice(1)) : path);
    const agentDir = env.PI_CODING_AGENT_DIR ? tilde(env.PI_CODING_AGENT_DIR) : join(home, '.pi', 'agent');
    const sessionDir = env.PI_CODING_AGENT_SESSION_DIR;
    return [agentDir, ...(sessionDir ? [tilde(sessionDir)] : [])].map(stateDir);
  },

  launch(job, { instructionsPath }) {
    const args = ['--mode', 'json', '-p'];
    // `--append-system-prompt` takes text or a file, whose contents it reads: the file keeps argv short.
    if (instructionsPath) args.push('--append-system-prompt', instructionsPath);
    const { model, provider } = job.runtimeConfig;
    // `--model provider/id[:thinking]` names both; `runtimeConfig.provider` is for a bare model id.
    if (typeof provider === 'string' && provider) args.push('--provider', argvValue('runtimeConfig.provider', provider));
    if (model) args.push('--model', argvValue('runtimeConfig.model', model));
    // A session file path, or the id from the `session` header (pi looks it up by id prefix).
    if (job.sessionId) args.push('--session', argvValue('sessionId', job.sessionId));
    // Pi has no flag for extra directories (its tools run with the process's own permissions): `job.addDirs` is not passed.
    return { args, stdin: job.prompt };
  },

  kindOf(message): StdoutEventKind {
    switch (message.type) {
      case 'tool_execution_start':
      case 'tool_execution_update':
        return 'tool_call';
      case 'tool_execution_end':
        return 'tool_result';
      case 'agent_end':
        return 'run_complete';
      default:
        // session header, agent/turn/message start-update-end, retries, compaction, anything newer.
        return 'model_message';
    }
  },

  report(previous, message): RunReport {
    switch (message.type) {
      case 'session':
        return { ...previous, sessionId: textAt(message.id) ?? previous.sessionId };
      // Each assistant message ends once with `message_end` (`turn_end` repeats it, so it is not counted): its cost is
      // added, and its stop reason is the verdict so far. A later good message (after a retry or a fallback
      // provider) clears an earlier failure.
      case 'message_end': {
        const assistant = assistantMessage(message.message);
        if (!assistant) return previous;
        const cost = objectAt(objectAt(assistant.usage)?.cost)?.total;
        return { ...previous, costMicros: addUsd(previous.costMicros, cost), ...verdictOf(assistant) };
      }
      case 'auto_retry_end':
        return message.success === false
          ? { ...previous, reportedError: true, errorText: textAt(message.finalError) ?? 'pi gave up retrying' }
          : previous;
      case 'error':
        return { ...previous, reportedError: true, errorText: textAt(message.message) ?? 'pi reported an error' };
      // The final state: a failed last assistant message fails the run. It never clears an error seen earlier, since
      // the messages may end with an older message of a resumed session.
      case 'agent_end': {
        const last = objectsIn(message.messages)
          .filter((item) => item.role === 'assistant')
          .at(-1);
        const verdict = last && verdictOf(last);
        return verdict?.reportedError ? { ...previous, ...verdict } : previous;
      }
      default:
        return previous;
    }
  },

  // A `--session` that matches no session file: "No session found matching '<id>'" on stderr, no JSON, exit 1 (0.74.2).
  isUnknownSession: unknownSessionMatcher([/No session found matching/]),

  // Pi reports the provider SDK's error as `<status> <the API's message>`: "429 You exceeded your current quota, …",
  // "429 Rate limit reached for … Please try again in 20s. …"; the reset is what the API's words say, if anything.
  usageLimit: usageLimitMatcher(
    [/^429\b/, /\b(?:RESOURCE_EXHAUSTED|rate_limit_error|insufficient_quota|usage_limit_reached)\b/, /\bexceeded your current quota\b/i],
    retryInText,
  ),
};

const assistantMessage = (value: unknown): Json | undefined => {
  const message = objectAt(value);
  return message?.role === 'assistant' ? message : undefined;
};

function verdictOf(assistant: Json): Pick<RunReport, 'reportedError' | 'errorText'> {
  const stop = String(assistant.stopReason);
  if (!FAILED_STOPS.has(stop)) return { reportedError: false, errorText: undefined };
  return { reportedError: true, errorText: textAt(assistant.errorMessage) ?? `pi stopped: ${stop}` };
}
