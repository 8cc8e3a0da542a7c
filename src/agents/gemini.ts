import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';
import { join } from 'node:path';
import { argvValue, objectAt, promptWithInstructions, stateDir, textAt, unknownSessionMatcher, usageLimitMatcher } from './shared.js';
import { retryInText } from './reset-time.js';

/**
 * Gemini CLI: `gemini --output-format stream-json [--model M] [--resume <id>] [--include-directories D]… -p ''`,
 * prompt on stdin. Gemini runs headless when stdin is not a TTY, reads all of stdin and puts it *before* the `-p`
 * text (`<stdin>\n\n<-p text>`); an empty `-p` keeps argv short whatever the prompt's size and still marks the run as
 * non-interactive for versions that need the flag.
 */
export const geminiAdapter: AgentAdapter = {
  name: 'gemini',
  defaultBin: 'gemini',
  versionArgs: ['--version'],
  installHint: 'install the Gemini CLI (npm install -g @google/gemini-cli) or pass --gemini-bin=/full/path/to/gemini',
  // Settings, OAuth credentials, trusted folders and per-project chats: .gemini under $GEMINI_CLI_HOME, else under ~.
  statePaths: (home, env) => [stateDir(join(env.GEMINI_CLI_HOME || home, '.gemini'))],

  launch(job, { instructions }) {
    const args = ['--output-format', 'stream-json'];
    const { model } = job.runtimeConfig;
    // yargs reads a value starting with "-" as the next flag (`--model --yolo`): argvValue refuses it.
    if (model) args.push('--model', argvValue('runtimeConfig.model', model));
    // Sessions are kept per project directory: a resume only finds the session from the same working directory.
    if (job.sessionId) args.push('--resume', argvValue('sessionId', job.sessionId));
    // One flag per directory. Gemini also splits each value on commas, so a directory whose path holds a comma breaks.
    (job.addDirs ?? []).forEach((dir, index) => args.push('--include-directories', argvValue(`addDirs[${index}]`, dir)));
    args.push('-p', '');
    // No append-system-prompt flag (GEMINI_SYSTEM_MD would replace the whole system prompt): the instructions lead
    // the prompt of a new session.
    return { args, stdin: promptWithInstructions(job.prompt, instructions, Boolean(job.sessionId)) };
  },

  kindOf(message): StdoutEventKind {
    switch (message.type) {
      case 'tool_use':
        return 'tool_call';
      case 'tool_result':
        return 'tool_result';
      case 'result':
        return 'run_complete';
      default:
        // init, message (user echo and assistant deltas), error (warnings), anything newer.
        return 'model_message';
    }
  },

  report(previous, message): RunReport {
    switch (message.type) {
      case 'init':
        return { ...previous, sessionId: textAt(message.session_id) ?? previous.sessionId };
      // A mid-stream `error` is not fatal by itself (the run goes on, or ends in a result). One of severity "error"
      // is kept as the error text in case the run fails: a result with status "error" may carry no error of its own.
      case 'error':
        return message.severity === 'error' ? { ...previous, errorText: textAt(message.message) ?? previous.errorText } : previous;
      case 'result': {
        const reportedError = message.status !== 'success';
        const errorText =
          textAt(objectAt(message.error)?.message) ?? previous.errorText ?? `gemini reported ${String(message.status ?? 'an error')}`;
        // Gemini reports tokens (`stats`) but no cost: costMicros stays undefined.
        return { ...previous, reportedError, errorText: reportedError ? errorText : undefined };
      }
      default:
        // A failed tool (`tool_result` with status "error") is reported back to the model and is not fatal.
        return previous;
    }
  },

  // "Error resuming session: Invalid session identifier "…"" (exit 42, stderr), "No previous sessions found for this
  // project.", and the "session … not found" / "failed to resume" wordings of other versions.
  isUnknownSession: unknownSessionMatcher([
    /Error resuming session/i,
    /Invalid session identifier/i,
    /No previous sessions found/i,
    /failed to resume/i,
    /\bsession\b.{0,100}\bnot found/i,
  ]),

  // A 429 ends the run with `[API Error: <the API's message>\nSuggested retry after 37s.]` and, with an API key, "Please
  // wait and try again later. To increase your limits, …" (exit code 173: the status cut to 8 bits). A daily quota is
  // "You have exhausted your daily quota on this model." and states no reset; without the API's RetryInfo the CLI
  // suggests 60 s of its own for a per-minute quota.
  usageLimit: usageLimitMatcher(
    [
      /\bRESOURCE_EXHAUSTED\b/,
      /\bexhausted your daily quota\b/i,
      /\bPlease wait and try again later\. To increase your limits\b/,
      /\bPossible quota limitations in place\b/,
      /\b(?:Quota exceeded|exceeded your current quota|Resource has been exhausted)\b/i,
    ],
    retryInText,
  ),
};
