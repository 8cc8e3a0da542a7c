/** The dashboard's routes, read from the URL's hash. */
import { describe, expect, it } from 'vitest';
import { href, parseHash } from '../../src/ui/router.js';

describe('parseHash', () => {
  it('should split the path and read the query', () => {
    const route = parseHash('#/jobs/abc?status=failed&company=acme');
    expect(route.parts).toEqual(['jobs', 'abc']);
    expect(route.query.get('status')).toBe('failed');
    expect(route.query.get('company')).toBe('acme');
  });

  it('should decode %-escapes in the path, and keep a part with a malformed one as it was typed', () => {
    expect(parseHash('#/jobs/a%20b').parts).toEqual(['jobs', 'a b']);
    expect(parseHash('#/jobs/%').parts).toEqual(['jobs', '%']);
    expect(parseHash('#/jobs/%E0%A4%A').parts).toEqual(['jobs', '%E0%A4%A']);
  });

  it('should give the jobs page for an empty hash', () => {
    expect(parseHash('').parts).toEqual([]);
    expect(parseHash('#').parts).toEqual([]);
  });
});

describe('href', () => {
  it('should leave out empty query values', () => {
    expect(href('/jobs', { status: 'failed', company: undefined, agent: '' })).toBe('#/jobs?status=failed');
    expect(href('/runners')).toBe('#/runners');
  });
});
