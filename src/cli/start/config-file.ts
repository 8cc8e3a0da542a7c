import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../command.js';
import { countProblem, settingFor, START_SETTINGS } from './declarations.js';
import type { FileSettings } from './precedence.js';
import { preview } from '../../runner/logger.js';

export const CONFIG_FILE_NAME = 'founderos-runner.json';

/** Where to look for the config file; injectable so that tests never read the developer's own. */
export interface ConfigFileLocation {
  cwd: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

export interface LoadedConfigFile extends FileSettings {
  /** The file read, or undefined when there is none. */
  path?: string;
  /** Where it was looked for, for `doctor` to say so when nothing was found. */
  searched: readonly string[];
  /** Problems that do not stop the runner, such as a token in a file other users can read. */
  warnings: readonly string[];
}

export function processConfigFileLocation(env: NodeJS.ProcessEnv = process.env): ConfigFileLocation {
  return { cwd: process.cwd(), home: homedir(), env };
}

/**
 * The project's file first (`./founderos-runner.json`), then the user's (`$XDG_CONFIG_HOME/founderos-runner/config.json`,
 * else `~/.config/…`). Only the first that exists is read: two files are never merged, so what applies is
 * always one file you can open.
 */
export function configFileCandidates({ cwd, home, env }: ConfigFileLocation): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  return [join(cwd, CONFIG_FILE_NAME), join(configHome, 'founderos-runner', 'config.json')];
}

/**
 * Reads the config file named by `--config`, or else the first candidate that exists. Its keys are the flag
 * names of `start` (`"server-url"`, `"timeout-sec"`, `"codex-bin"`, `"allow-process-jobs"`, …); every problem
 * is reported at once, naming the file and the key, as a ConfigError (exit code 2).
 */
export function loadConfigFile(
  explicitPath: string | undefined,
  location: ConfigFileLocation = processConfigFileLocation(),
): LoadedConfigFile {
  const searched = explicitPath === undefined ? configFileCandidates(location) : [resolve(location.cwd, explicitPath)];
  const path = searched.find(isFile);
  if (path === undefined) {
    if (explicitPath !== undefined)
      throw new ConfigError([
        `config error: config file ${searched[0]} (--config) does not exist or is not a file; check the path, or drop --config`,
      ]);
    return { values: {}, booleans: {}, searched, warnings: [] };
  }
  const settings = parseConfigObject(readJson(path), path);
  return { ...settings, path, searched, warnings: permissionWarnings(path, settings) };
}

/**
 * Checks every key and value of the file's object against the settings of `start`, as their flags are: a
 * count takes a JSON number or a string of digits, and is held to the same range.
 */
export function parseConfigObject(parsed: unknown, path: string): FileSettings {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError([
      `config error: ${path} must hold a JSON object of flag names and values, e.g. {"server-url": "https://founderos.example.com"}`,
    ]);

  const problems: string[] = [];
  const values: Record<string, string> = {};
  const booleans: Record<string, boolean> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const setting = settingFor(key);
    const refuse = (expected: string) => problems.push(`config error: ${path}: "${key}" ${expected} (got ${describeJson(value, key)})`);
    if (setting === undefined) {
      problems.push(
        `config error: ${path}: unknown key "${key}"; the keys are the flag names without dashes: ` +
          START_SETTINGS.map((known) => `"${known.flag}"`).join(', '),
      );
    } else if (setting.kind === 'boolean') {
      if (typeof value === 'boolean') booleans[key] = value;
      else refuse('must be true or false');
    } else if (setting.kind === 'list') {
      // One path, or a list of them, each relative to the file.
      const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
      if (list.length > 0 && list.every((item) => typeof item === 'string' && item !== ''))
        values[key] = list.map((item) => pathRelativeToFile(key, item, path)).join(delimiter);
      else refuse('must be a path or a list of paths, e.g. ["/srv/shared"]');
    } else if (setting.count) {
      // Any other JSON value is checked as no text at all, which no count is: the same message as a bad number.
      const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
      const problem = countProblem(setting.count, text);
      if (problem === undefined) values[key] = text;
      else refuse(problem);
    } else if (typeof value === 'string' && value !== '') values[key] = pathRelativeToFile(key, value, path);
    else refuse('must be a non-empty string');
  }
  if (problems.length) throw new ConfigError(problems);
  return { values, booleans };
}

/**
 * A relative path in a file means "next to this file", not "wherever the runner happens to start": the
 * user's config file is read from any directory. A bare command name (`claude`) stays a PATH lookup.
 */
function pathRelativeToFile(key: string, value: string, path: string): string {
  const isPathSetting = key.endsWith('-dir') || key.endsWith('-file') || key === 'expose' || (key.endsWith('-bin') && /[\\/]/.test(value));
  return isPathSetting && !isAbsolute(value) && !value.startsWith('~') ? resolve(dirname(path), value) : value;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([
      `config error: cannot read config file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); check its permissions`,
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError([
      `config error: ${path} is not valid JSON (${(error as Error).message}); ` +
        'fix the syntax, e.g. {"server-url": "https://founderos.example.com"}',
    ]);
  }
}

/** The token in a file others can read is a leak waiting to happen; warn rather than refuse, like ssh does for keys it can still use. */
function permissionWarnings(path: string, settings: FileSettings): string[] {
  if (settings.values.token === undefined || process.platform === 'win32') return [];
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return [];
  return [
    `config file ${path} holds the token (${preview(settings.values.token)}) and other users can read it ` +
      `(mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
  ];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A wrong value's type, never its content when it might be the token. */
function describeJson(value: unknown, key: string): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === '') return 'an empty string';
  if (key === 'token') return `a ${typeof value}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
