import { describe, expect, it } from 'vitest';
import { UsageError, numberFlag, parseFlags } from '../../src/cli/args.js';

describe('parseFlags', () => {
  const spec = { string: ['company', 'limit'], boolean: ['json'], repeatable: ['add-dir'] };

  it('should keep numeric-looking values and positionals as strings', () => {
    const flags = parseFlags(['show', '0012', '--company', '007', '--add-dir', 'a', '--add-dir', 'b', '--json'], spec, 'x');
    expect(flags.positionals).toEqual(['show', '0012']);
    expect(flags.str('company')).toBe('007');
    expect(flags.list('add-dir')).toEqual(['a', 'b']);
    expect(flags.bool('json')).toBe(true);
  });

  it('should name unknown flags, repeated flags and missing values', () => {
    expect(() => parseFlags(['--nope', '-q'], spec, 'x')).toThrow(/unknown flag\(s\): --nope, -q/);
    expect(() => parseFlags(['--company', 'a', '--company=b'], spec, 'x')).toThrow(/given 2 times/);
    expect(() => parseFlags(['--company'], spec, 'x')).toThrow(/--company needs a value/);
    expect(() => parseFlags(['--nope'], spec, 'x')).toThrow(UsageError);
  });

  it('should check number flags', () => {
    const flags = parseFlags(['--limit', '2.5'], spec, 'x');
    expect(() => numberFlag(flags, 'limit', { min: 1, integer: true })).toThrow(/--limit must be an integer from 1; got "2.5"/);
    expect(numberFlag(flags, 'limit', { min: 0 })).toBe(2.5);
    expect(numberFlag(parseFlags([], spec, 'x'), 'limit', { min: 0 })).toBeUndefined();
  });
});
