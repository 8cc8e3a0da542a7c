import { ConfigError } from '../../src/cli/command.js';

/** The problems of the ConfigError that `run` throws; fails the test when it throws nothing or something else. */
export const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
};
