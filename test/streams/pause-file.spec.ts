import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPauses, writePauses } from '../../src/streams/pause-file.js';
import { describeTempDir } from '../support/temp-dir.js';

describe('the pause file', () => {
  const dir = describeTempDir('founderos-pauses-');
  const claude = { until: '2026-12-07T15:00:00.000Z', since: '2026-12-07T10:00:00.000Z', reason: 'usage limit reached (…)' };

  it('should keep the pauses for the user alone, and go when none is left', () => {
    const path = join(dir(), 'usage-limits.json');
    writePauses(path, { claude });
    expect(readPauses(path)).toEqual({ claude });
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    writePauses(path, {});
    expect(existsSync(path)).toBe(false);
    expect(readPauses(path)).toEqual({});
  });

  it('should read what it can of a damaged file, and nothing of one that is not JSON', () => {
    const path = join(dir(), 'damaged.json');
    writeFileSync(path, JSON.stringify({ claude, codex: { until: 'tomorrow', since: claude.since, reason: 'x' }, pi: 7 }));
    expect(readPauses(path)).toEqual({ claude });
    writeFileSync(path, '{"claude": {"until": "2026-12');
    expect(readPauses(path)).toEqual({});
    writeFileSync(path, '[]');
    expect(readPauses(path)).toEqual({});
  });
});
