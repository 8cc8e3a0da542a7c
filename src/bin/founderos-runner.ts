#!/usr/bin/env node
import { EXIT } from '../cli/exit-codes.js';
import { RUNNER_VERSION } from '../runner/version.js';

// Each command loads its own modules, so that `--version` starts in a blink.

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return (await import('../cli/start/command.js')).startCommand(rest);
    case 'demo':
      return (await import('../cli/demo.js')).demoCommand(rest);
    case 'doctor':
      return (await import('../cli/doctor.js')).doctorCommand(rest);
    case 'service':
      return (await import('../cli/service/index.js')).serviceCommand(rest);
    case 'server':
      return (await import('../cli/server.js')).runServerCommand(rest);
    case 'admin':
      return (await import('../cli/admin/command.js')).runAdminCommand(rest);
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
