import { describe, expect, it } from 'vitest';
import { errorText } from '../../src/runner/error-text.js';
import { closedPort } from '../control-plane/helpers.js';

describe('errorText', () => {
  it("should name the system error beneath a message that does not, as fetch's does not", async () => {
    const error = await fetch(`http://127.0.0.1:${await closedPort()}/`).catch((failure: unknown) => failure);
    expect(errorText(error)).toMatch(/^fetch failed: .*ECONNREFUSED/);
    // A port fetch refuses to use (1 is on its list): a cause with a message and no code.
    expect(errorText(await fetch('http://127.0.0.1:1/').catch((failure: unknown) => failure))).toBe('fetch failed: bad port');
    // Every address of a name refused: an AggregateError, with a code and no message.
    const refused = Object.assign(new AggregateError([]), { code: 'ECONNREFUSED' });
    expect(errorText(new TypeError('fetch failed', { cause: refused }))).toBe('fetch failed: ECONNREFUSED');
  });

  it('should keep a message that names its cause already, and show what is not an error as text', () => {
    const cause = Object.assign(new Error('spawn claude ENOENT'), { code: 'ENOENT' });
    expect(errorText(new Error('could not start claude: ENOENT', { cause }))).toBe('could not start claude: ENOENT');
    expect(errorText(new Error('could not open out.log: EACCES', { cause: new Error('EACCES') }))).toBe('could not open out.log: EACCES');
    expect(errorText(new Error('no cause'))).toBe('no cause');
    expect(errorText('a string')).toBe('a string');
  });
});
