import { describe, expect, it } from 'vitest';
import { formatFlags, numberFlag, parseFlags, type FlagDeclaration } from '../../src/cli/args.js';
import { ConfigError } from '../../src/cli/command.js';

const FLAGS: FlagDeclaration[] = [
  { flag: 'company', kind: 'value', placeholder: 'ID', usage: 'the company' },
  { flag: 'limit', kind: 'value', placeholder: 'N', usage: 'at most this many' },
  { flag: 'json', kind: 'boolean', usage: 'machine-readable output' },
  { flag: 'ui', kind: 'boolean', onByDefault: true, usage: 'do not serve the dashboard' },
  { flag: 'add-dir', kind: 'list', placeholder: 'DIR', env: 'ADD_DIR', defaultText: 'none', usage: 'a directory' },
];

describe('parseFlags', () => {
  it('should keep numeric-looking values and positionals as strings', () => {
    const flags = parseFlags(['show', '0012', '--company', '007', '--add-dir', 'a', '--add-dir', 'b', '--json'], FLAGS, 'x');
    expect(flags.positionals).toEqual(['show', '0012']);
    expect(flags.str('company')).toBe('007');
    expect(flags.list('add-dir')).toEqual(['a', 'b']);
    expect(flags.bool('json')).toBe(true);
  });

  it('should turn a flag that is on by default off with --no-<flag>, and take --help and -h', () => {
    expect(parseFlags([], FLAGS, 'x').bool('ui')).toBe(true);
    expect(parseFlags(['--no-ui'], FLAGS, 'x').bool('ui')).toBe(false);
    expect(parseFlags(['-h'], FLAGS, 'x').bool('help')).toBe(true);
  });

  it('should name unknown flags, repeated flags and missing values, all at once', () => {
    expect(() => parseFlags(['--nope', '-q'], FLAGS, 'x')).toThrow(/unknown flag\(s\): --nope, -q. Run "x --help"/);
    expect(() => parseFlags(['--company', 'a', '--company=b'], FLAGS, 'x')).toThrow(/--company was given 2 times; give it once/);
    expect(() => parseFlags(['--company', '--json'], FLAGS, 'x')).toThrow(
      /^unknown or malformed flag\(s\): --company \(given without a value\); write --company=<value>/,
    );
    expect(() => parseFlags(['--nope'], FLAGS, 'x')).toThrow(ConfigError);
    try {
      parseFlags(['--nope', '--limit=1', '--limit=2'], FLAGS, 'x');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });

  it('should let every value repeat when lenient, to find a subcommand before its flags are known', () => {
    expect(parseFlags(['--company', 'a', '--company=b'], FLAGS, 'x', true).list('company')).toEqual(['a', 'b']);
  });

  it('should check number flags', () => {
    const flags = parseFlags(['--limit', '2.5'], FLAGS, 'x');
    expect(() => numberFlag(flags, 'limit', { min: 1, integer: true })).toThrow(/--limit must be an integer from 1; got "2.5"/);
    expect(numberFlag(flags, 'limit', { min: 0 })).toBe(2.5);
    expect(numberFlag(parseFlags([], FLAGS, 'x'), 'limit', { min: 0 })).toBeUndefined();
  });
});

describe('formatFlags', () => {
  it('should show each flag with its placeholder, variable, usage and default', () => {
    const help = formatFlags(FLAGS);
    expect(help).toContain('--company=ID');
    expect(help).toContain('--no-ui');
    expect(help).toMatch(/--add-dir=DIR +ADD_DIR +a directory \(default none\)/);
    expect(help.split('\n')).toHaveLength(FLAGS.length);
  });

  it("should state a setting's fallback as its default, unless a defaultText says it better", () => {
    const help = formatFlags([
      { flag: 'timeout-sec', kind: 'value', fallback: '600', usage: 'ceiling' },
      { flag: 'spool-dir', kind: 'value', fallback: '/x', defaultText: 'under $XDG_STATE_HOME', usage: 'spool' },
    ]);
    expect(help).toMatch(/ceiling \(default 600\)/);
    expect(help).toMatch(/spool \(default under \$XDG_STATE_HOME\)/);
  });
});
