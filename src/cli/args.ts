/**
 * The one strict argument layer of every command, on top of minimist. minimist alone turns numeric-looking
 * strings into numbers and silently accepts unknown flags; here every flag is declared once (name, kind,
 * variable, default, usage), positionals stay strings, every mistake in argv is reported at once as a
 * ConfigError (exit code 2) that says what to do, and `--help` is written from the same declarations.
 */
import { delimiter } from 'node:path';
import minimist from 'minimist';
import { ConfigError } from './command.js';

/**
 * One flag of a command: how it is parsed, and how `--help` shows it. The settings of `start` are flags of this
 * shape too (src/cli/start/declarations.ts), which then also drive the variables, the config file and the service files.
 */
export interface FlagDeclaration {
  flag: string;
  /** `value` takes a string (a number stays a string until validated); `list` takes one or more values. */
  kind: 'value' | 'boolean' | 'list';
  /** What `--help` shows after the flag, e.g. `N` or `https://…`; values only. */
  placeholder?: string;
  /** The environment variable that also sets it, when there is one. */
  env?: string;
  /** The value it takes when nothing gives one; `--help` states it as the default. */
  fallback?: string;
  /** How `--help` states a default that is not a plain `fallback` (a path that depends on the machine). */
  defaultText?: string;
  /** A boolean that is on unless turned off with `--no-<flag>`. */
  onByDefault?: boolean;
  usage: string;
}

export interface ParsedFlags {
  positionals: string[];
  str(name: string): string | undefined;
  list(name: string): string[];
  bool(name: string): boolean;
}

/**
 * Parses argv against the declared flags; `helpCommand` is what the messages tell the user to run.
 * `--help` / `-h` is always accepted. With `lenient`, every value flag may repeat (to find a subcommand's
 * words before its own flags are known).
 */
export function parseFlags(
  argv: readonly string[],
  declarations: readonly FlagDeclaration[],
  helpCommand: string,
  lenient = false,
): ParsedFlags {
  const unknown: string[] = [];
  const values = declarations.filter((d) => d.kind !== 'boolean').map((d) => d.flag);
  const booleans = declarations.filter((d) => d.kind === 'boolean');
  const parsed = minimist([...argv], {
    string: ['_', ...values],
    boolean: [...booleans.map((d) => d.flag), 'help'],
    default: Object.fromEntries(booleans.filter((d) => d.onByDefault).map((d) => [d.flag, true])),
    alias: { h: 'help' },
    unknown: (arg) => {
      if (!arg.startsWith('-') || arg === '-') return true; // a positional
      unknown.push(arg.replace(/=.*$/, ''));
      return false;
    },
  });
  const problems: string[] = [];
  if (unknown.length > 0)
    problems.push(`unknown flag(s): ${[...new Set(unknown)].join(', ')}. Run "${helpCommand} --help" for the flags it takes.`);
  const empty: string[] = [];
  for (const declaration of declarations) {
    if (declaration.kind === 'boolean') continue;
    const given = valuesOf(parsed[declaration.flag]);
    if (given.length > 1 && declaration.kind !== 'list' && !lenient)
      problems.push(`--${declaration.flag} was given ${given.length} times; give it once.`);
    if (given.some((value) => value === '')) empty.push(`--${declaration.flag}`);
  }
  // `--token --server-url=…`: the flag took nothing, and the next one may have been meant as its value.
  if (empty.length > 0)
    problems.push(
      `unknown or malformed flag(s): ${empty.join(' ')} (given without a value); write ${empty[0]}=<value> or ${empty[0]} <value>`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    positionals: (parsed._ as string[]).map(String),
    str: (name) => valuesOf(parsed[name])[0],
    list: (name) => valuesOf(parsed[name]),
    bool: (name) => parsed[name] === true,
  };
}

/** The flags given, as a record of values and a record of switches: the shape the settings of `start` are resolved from. */
export function parseFlagRecords(argv: readonly string[], declarations: readonly FlagDeclaration[], helpCommand: string) {
  const flags = parseFlags(argv, declarations, helpCommand);
  const values: Record<string, string> = {};
  const booleans: Record<string, boolean> = {};
  for (const { flag, kind } of declarations) {
    if (kind === 'boolean') booleans[flag] = flags.bool(flag);
    // A repeated flag's values as one list, separated as in its variable (see the list settings of start).
    else if (kind === 'list' && flags.list(flag).length > 0) values[flag] = flags.list(flag).join(delimiter);
    else {
      const value = flags.str(flag);
      if (value !== undefined) values[flag] = value;
    }
  }
  return { values, booleans, help: flags.bool('help'), positionals: flags.positionals };
}

function valuesOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** A number flag: finite, within bounds, an integer if asked; undefined when absent. */
export function numberFlag(
  flags: ParsedFlags,
  name: string,
  bounds: { min: number; max?: number; integer?: boolean; exclusiveMin?: boolean },
): number | undefined {
  const raw = flags.str(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const tooLow = bounds.exclusiveMin ? value <= bounds.min : value < bounds.min;
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    tooLow ||
    (bounds.max !== undefined && value > bounds.max) ||
    (bounds.integer && !Number.isInteger(value))
  ) {
    const kind = bounds.integer ? 'an integer' : 'a number';
    const range = `${bounds.exclusiveMin ? 'above' : 'from'} ${bounds.min}${bounds.max !== undefined ? ` to ${bounds.max}` : ''}`;
    throw new ConfigError(`--${name} must be ${kind} ${range}; got "${raw}".`);
  }
  return value;
}

/** The flags section of a `--help`: one line per flag (flag, variable, usage, default), aligned. */
export function formatFlags(declarations: readonly FlagDeclaration[]): string {
  const flagText = (d: FlagDeclaration) => {
    if (d.kind === 'boolean') return d.onByDefault ? `--no-${d.flag}` : `--${d.flag}`;
    return `--${d.flag}=${d.placeholder ?? 'VALUE'}`;
  };
  const width = Math.max(...declarations.map((d) => flagText(d).length)) + 2;
  const envWidth = Math.max(0, ...declarations.map((d) => (d.env ?? '').length)) + 2;
  return declarations
    .map((d) => {
      const shownDefault = d.defaultText ?? d.fallback;
      const usage = `${d.usage}${shownDefault === undefined ? '' : ` (default ${shownDefault})`}`;
      const env = envWidth > 2 ? (d.env ?? '').padEnd(envWidth) : '';
      return `  ${flagText(d).padEnd(width)}${env}${usage}`;
    })
    .join('\n');
}
