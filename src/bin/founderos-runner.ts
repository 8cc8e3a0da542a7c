#!/usr/bin/env node
import { EXIT } from '../cli/exit-codes.js';
import { RUNNER_VERSION } from '../runner/version.js';

type Command = (argv: string[]) => Promise<number>;

/** Each command's module, loaded only when that command runs, so that `--version` starts in a blink. */
const COMMANDS = new Map<string, () => Promise<Command>>([
  ['start', async () => (await import('../cli/start/command.js')).startCommand],
  ['demo', async () => (await import('../cli/demo.js')).demoCommand],
  ['doctor', async () => (await import('../cli/doctor.js')).doctorCommand],
  ['service', async () => (await import('../cli/service/index.js')).serviceCommand],
  ['server', async () => (await import('../cli/server.js')).runServerCommand],
  ['admin', async () => (await import('../cli/admin/command.js')).runAdminCommand],
]);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const load = command === undefined ? undefined : COMMANDS.get(command);
  if (load) return (await load())(rest);
  switch (command) {
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`${RUNNER_VERSION}\n`);
      return EXIT.ok;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write((await import('../cli/help.js')).toolHelp());
      return EXIT.ok;
    default:
      process.stderr.write(
        `unknown command ${JSON.stringify(command)}: use start, doctor, service, demo, server or admin (see founderos-runner --help)\n`,
      );
      return EXIT.config;
  }
}

// Exit explicitly: idle keep-alive sockets or a child's leftover pipe must not keep a finished command alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `founderos-runner: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(EXIT.failure);
  },
);
