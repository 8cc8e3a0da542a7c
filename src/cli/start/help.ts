import { formatFlags } from '../args.js';
import { START_COMMAND, START_FLAGS } from './declarations.js';

/** `founderos-runner start --help`, written from the declarations of its settings. */
export function startHelp(): string {
  return `Usage: ${START_COMMAND} [flags]

Polls the server for jobs and runs them until ^C. Each setting is a flag, an environment variable, or a key
of the config file (the flag's name); flags win over variables, variables over the file.

${formatFlags(START_FLAGS)}

Signals: the first SIGINT/SIGTERM lets the running job finish, the second cancels it, the third exits.
Exit codes: 0 stopped cleanly, 1 failure, 2 bad configuration, 3 token rejected by the server, 130 forced.
`;
}
