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

/**
 * Resolves once everything written to `stream` so far has been handed to its reader (a write's callback runs after
 * the writes before it), or the reader is gone.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

/**
 * Exits explicitly, so that idle keep-alive sockets or a child's leftover pipe cannot keep a finished command alive,
 * but only once stdout and stderr are flushed: into a pipe they are asynchronous, and an exit at once cut
 * `admin jobs events <id> --json | cat` after 1 MB of 8 (after 64 KiB through a reader that waits a second).
 */
async function exit(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

// A reader of the output that went away (`| head`) ends the command quietly, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(EXIT.ok);
});

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  process.stderr.write(
    `founderos-runner: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return exit(EXIT.failure);
});
