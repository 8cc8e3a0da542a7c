import type { AgentAdapter, RunReport, StdoutEventKind } from './adapter.js';

/**
 * Any program, named by the job: `runtimeConfig.command` with `runtimeConfig.args`, prompt on stdin. It has no binary
 * of its own: `launch` returns the job's command as `command`, which the runner runs instead of `defaultBin` (a
 * placeholder), and `versionArgs` is empty (there is no version to ask for). Success is exit code 0; stdout lines
 * that are JSON objects are `model_message` events, others stay `stdout_line`.
 */
export const processAdapter: AgentAdapter = {
  name: 'process',
  defaultBin: 'process',
  versionArgs: [],
  installHint: "set the job's runtimeConfig.command to a program on the runner's PATH, or to its full path",
  // Any program: no state of its own is known, so the sandbox gives it its workspace and granted directories alone.
  statePaths: () => [],

  launch(job, { instructionsPath }) {
    const { command, args = [] } = job.runtimeConfig;
    if (typeof command !== 'string' || !command.trim()) {
      throw new Error(
        "the job's runtimeConfig.command is missing: the process adapter needs it to know what to run; set runtimeConfig.command " +
          'to the program (a name on PATH or a full path) and, if it takes arguments, runtimeConfig.args to a list of strings',
      );
    }
    if (!Array.isArray(args) || !args.every((arg): arg is string => typeof arg === 'string')) {
      throw new Error("the job's runtimeConfig.args must be a list of strings (the arguments of runtimeConfig.command)");
    }
    // The program is run directly, never through a shell: its arguments reach it exactly as given. They are the only
    // job values in this argv and are meant to be the program's flags, so argvValue does not apply: what a job may run
    // is the owner's choice (--allow-process-jobs), and no agent's permission checks stand between them.
    return {
      command,
      args: [...args],
      stdin: job.prompt,
      // The only way to hand instructions to an unknown program: the path of the private instructions file. No model,
      // resume or extra-directory convention exists for it, so those fields of the job are not passed.
      ...(instructionsPath && { env: { FOUNDEROS_INSTRUCTIONS_FILE: instructionsPath } }),
    };
  },

  kindOf(): StdoutEventKind {
    return 'model_message';
  },

  report(previous): RunReport {
    return previous;
  },
};
