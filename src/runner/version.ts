import { readFileSync } from 'node:fs';

/** This package's version, read once from its package.json (two levels up from src/ and from dist/). */
export const RUNNER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const USER_AGENT = `founderos-runner/${RUNNER_VERSION} node/${process.versions.node} (${process.platform}; ${process.arch})`;

/** Asks each binary for its version once, however many jobs run it. */
export function versionCache(ask: (bin: string, args: readonly string[]) => Promise<string | undefined>) {
  const known = new Map<string, Promise<string | undefined>>();
  return (bin: string, args: readonly string[]): Promise<string | undefined> => {
    let version = known.get(bin);
    if (!version) {
      version = ask(bin, args);
      known.set(bin, version);
      // A binary that was missing may be installed by the next job: only a real answer is kept.
      void version.then((answer) => answer === undefined && known.delete(bin));
    }
    return version;
  };
}
