/**
 * Strict flag parsing on top of minimist for the `server` and `admin` commands. minimist alone turns
 * numeric-looking strings into numbers and silently accepts unknown flags; here every flag is declared,
 * positionals stay strings, and mistakes become a UsageError (exit code 2) that says what to do.
 */
import minimist from 'minimist';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec {
  string?: readonly string[];
  boolean?: readonly string[];
  /** String flags that may be given more than once. */
  repeatable?: readonly string[];
  /** Boolean flags that are on unless turned off (`--no-<name>`). */
  onByDefault?: readonly string[];
}

export interface ParsedFlags {
  positionals: string[];
  str(name: string): string | undefined;
  list(name: string): string[];
  bool(name: string): boolean;
}

export function mergeSpecs(...specs: FlagSpec[]): FlagSpec {
  return {
    string: specs.flatMap((s) => s.string ?? []),
    boolean: specs.flatMap((s) => s.boolean ?? []),
    repeatable: specs.flatMap((s) => s.repeatable ?? []),
  };
}

/** Parses argv; `helpCommand` is what the error messages tell the user to run. */
export function parseFlags(argv: readonly string[], spec: FlagSpec, helpCommand: string): ParsedFlags {
  const unknown: string[] = [];
  const strings = [...(spec.string ?? []), ...(spec.repeatable ?? [])];
  const parsed = minimist([...argv], {
    string: ['_', ...strings],
    boolean: [...(spec.boolean ?? []), ...(spec.onByDefault ?? []), 'help'],
    default: Object.fromEntries((spec.onByDefault ?? []).map((name) => [name, true])),
    alias: { h: 'help' },
    unknown: (arg) => {
      if (!arg.startsWith('-') || arg === '-') return true; // a positional
      unknown.push(arg.replace(/=.*$/, ''));
      return false;
    },
  });
  if (unknown.length > 0) {
    throw new UsageError(`unknown flag(s): ${unknown.join(', ')}. Run "${helpCommand} --help" for the flags it takes.`);
  }
  const repeatable = new Set(spec.repeatable ?? []);
  for (const name of strings) {
    const value = parsed[name] as string | string[] | undefined;
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.length > 1 && !repeatable.has(name)) {
      throw new UsageError(`--${name} was given ${values.length} times; give it once.`);
    }
    if (values.some((v) => v === '')) {
      throw new UsageError(`--${name} needs a value, e.g. --${name}=<value>.`);
    }
  }
  return {
    positionals: (parsed._ as string[]).map(String),
    str: (name) => {
      const value = parsed[name] as string | undefined;
      return value === undefined ? undefined : String(value);
    },
    list: (name) => {
      const value = parsed[name] as string | string[] | undefined;
      return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
    },
    bool: (name) => parsed[name] === true,
  };
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
    throw new UsageError(`--${name} must be ${kind} ${range}; got "${raw}".`);
  }
  return value;
}
