/**
 * What every command shares: where it prints, the error that means "you asked for something this command
 * cannot do", and the one wrapper that turns that error into its message and exit code 2.
 */
import { once } from 'node:events';
import { EXIT } from './exit-codes.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Resolves once stdout can take more without piling up in memory (its reader is slow: a pipe into `less`, a
   * slow network). A command that prints without bound (a whole transcript) waits on it between pieces.
   */
  stdoutReady?(): Promise<void>;
  env: NodeJS.ProcessEnv;
}

export function processIo(env: NodeJS.ProcessEnv = process.env): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stdoutReady: () => (process.stdout.writableNeedDrain ? once(process.stdout, 'drain').then(() => {}) : Promise.resolve()),
    env,
  };
}

/** Flags, variables or a config file a command cannot run with; each problem says what is wrong and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('\n'));
    this.problems = list;
  }
}

/**
 * Runs a command's body; a ConfigError becomes its problems on stderr, each after the command's name, and
 * exit code 2. Anything else is a failure the body did not expect, and goes up to the entry point.
 */
export async function runCommand(command: string, io: Pick<CliIo, 'stderr'>, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.problems.map((problem) => `${command}: ${problem}\n`).join(''));
    return EXIT.config;
  }
}
