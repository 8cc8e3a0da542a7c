import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';
import { join } from 'node:path';
import { resetFromHeaders, retryInText } from './reset-time.js';
import {
  addUsd,
  argvValue,
  objectAt,
  promptWithInstructions,
  stateDir,
  textAt,
  unknownSessionMatcher,
  xdgHome,
  usageLimitMatcher,
  type Json,
} from './shared.js';

const stateOf = (event: Json) => objectAt(objectAt(event.part)?.state);

/**
 * OpenCode (sst/opencode, npm `opencode-ai`; not the older Go tool of the same name): `opencode run --format json
 * [--model provider/model] [--session ses_…]`, prompt on stdin. `run` appends piped stdin to its message arguments,
 * and with no message argument stdin alone is the message, so the prompt never needs to be in argv.
 */
export const opencodeAdapter: AgentAdapter = {
  name: 'opencode',
  defaultBin: 'opencode',
  versionArgs: ['--version'],
  installHint: 'install OpenCode (npm install -g opencode-ai) or pass --opencode-bin=/full/path/to/opencode',
  // The XDG base directories, each with an opencode folder: data (auth.json, sessions), config, cache and state.
  statePaths: (home, env) =>
    [
      xdgHome(env, home, 'XDG_DATA_HOME', '.local/share'),
      xdgHome(env, home, 'XDG_CONFIG_HOME', '.config'),
      xdgHome(env, home, 'XDG_CACHE_HOME', '.cache'),
      xdgHome(env, home, 'XDG_STATE_HOME', '.local/state'),
    ].map((base) => stateDir(join(base, 'opencode'))),

  launch(job, { instructions }) {
    const args = ['run', '--format', 'json'];
    const { model } = job.runtimeConfig;
    if (model) args.push('--model', argvValue('runtimeConfig.model', model));
    if (job.sessionId) args.push('--session', argvValue('sessionId', job.sessionId));
    // No flag for extra directories: access outside the project is the `permission.external_directory` config,
    // and a request that resolves to "ask" is auto-rejected in `run`. `job.addDirs` is therefore not passed.
    // No system-prompt flag either: the instructions lead the prompt of a new session.
    return { args, stdin: promptWithInstructions(job.prompt, instructions, Boolean(job.sessionId)) };
  },

  kindOf(message): StdoutEventKind {
    switch (message.type) {
      // Emitted once a tool has finished (state completed or error), carrying both its input and output.
      case 'tool_use': {
        const status = stateOf(message)?.status;
        return status === 'completed' || status === 'error' ? 'tool_result' : 'tool_call';
      }
      // A step that ends in tool calls is followed by another step; any other finish reason ends the run.
      case 'step_finish':
        return objectAt(message.part)?.reason === 'tool-calls' ? 'model_message' : 'run_complete';
      case 'done':
        return 'run_complete';
      default:
        // step_start, text, reasoning, error, anything newer.
        return 'model_message';
    }
  },

  report(previous, message): RunReport {
    const report = { ...previous, sessionId: textAt(message.sessionID) ?? previous.sessionId };
    switch (message.type) {
      // Each step reports its own cost in USD: the run's cost is their sum.
      case 'step_finish':
        return { ...report, costMicros: addUsd(previous.costMicros, objectAt(message.part)?.cost) };
      // Older builds exit 0 after an `error` event, so the event itself marks the run failed. A failed tool
      // (`tool_use` with state "error") is not fatal and is not counted.
      case 'error':
        return { ...report, reportedError: true, errorText: errorTextOf(objectAt(message.error)), ...apiAnswerOf(message) };
      default:
        return report;
    }
  },

  isUnknownSession: unknownSessionMatcher([/\bsession\b.{0,100}\bnot found/i]),

  // The error event of an API error carries its status and response headers (`apiAnswerOf`), whatever the provider;
  // OpenCode's own services say "Usage limit reached" or "Free usage exceeded".
  usageLimit: usageLimitMatcher([/\bUsage limit reached\b/i, /\bFree usage exceeded\b/i, /\bexceeded your current quota\b/i], retryInText),
};

/**
 * The model API's answer an `error` event reports (`error.data`: `statusCode`, `responseHeaders`), as the status and
 * the reset its headers give, seen from the event's time (epoch ms) or, failing that, the answer's `date` header.
 */
function apiAnswerOf(event: Json): Pick<RunReport, 'apiStatus' | 'limitResetsAt'> {
  const data = objectAt(objectAt(event.error)?.data);
  const headers = objectAt(data?.responseHeaders);
  const at = typeof event.timestamp === 'number' ? event.timestamp : Date.parse(String(headers?.date));
  const limitResetsAt = headers && Number.isFinite(at) ? resetFromHeaders(headers, at) : undefined;
  return {
    ...(typeof data?.statusCode === 'number' && { apiStatus: data.statusCode }),
    ...(limitResetsAt !== undefined && { limitResetsAt }),
  };
}

function errorTextOf(error: Json | undefined): string {
  const name = textAt(error?.name);
  const message = textAt(objectAt(error?.data)?.message) ?? textAt(error?.message);
  if (name && message) return `${name}: ${message}`;
  return message ?? name ?? 'opencode reported an error';
}
