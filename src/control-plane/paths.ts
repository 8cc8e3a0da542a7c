/** Where the server keeps its state by default (XDG base directories). */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export const DEFAULT_SERVER_PORT = 8787;
export const DEFAULT_SERVER_URL = `http://127.0.0.1:${DEFAULT_SERVER_PORT}`;
export const SERVER_URL_ENV = 'FOUNDEROS_SERVER_URL';

/** `$XDG_DATA_HOME/founderos-runner/server`, or `~/.local/share/founderos-runner/server`. */
export function defaultServerDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'founderos-runner', 'server');
}
