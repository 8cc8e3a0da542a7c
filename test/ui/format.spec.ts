/** How numbers and times read on the dashboard. */
import { describe, expect, it } from 'vitest';
import {
  firstLine,
  formatAgo,
  formatCost,
  formatDuration,
  formatDurationMs,
  formatOffset,
  formatUntil,
  plural,
  runSeconds,
} from '../../src/ui/format.js';

describe('format', () => {
  it('should show costs with cents, the same way everywhere, and say when one is under a cent', () => {
    expect([formatCost(0), formatCost(90_000), formatCost(1_400), formatCost(12_400_000), formatCost(null)]).toEqual([
      '$0.00',
      '$0.09',
      '<$0.01',
      '$12.40',
      '—',
    ]);
  });

  it('should never show a negative run time (the browser clock a little behind the server)', () => {
    const claimedAt = new Date(10_200).toISOString();
    expect(runSeconds({ elapsedSec: null, claimedAt, completedAt: null }, 10_000)).toBe(0);
    expect(formatDuration(-0.2)).toBe('0.0 s');
  });

  it('should read durations and times since the start as a log does', () => {
    expect([formatDuration(3), formatDuration(75), formatDuration(3_700)]).toEqual(['3.0 s', '1 min 15 s', '1 h 1 min']);
    expect([formatDurationMs(120), formatDurationMs(3_000), formatDurationMs(undefined)]).toEqual(['120 ms', '3.0 s', '']);
    expect([formatOffset(5_300), formatOffset(760_000), formatOffset(3_723_000), formatOffset(-50)]).toEqual([
      '+0:05',
      '+12:40',
      '+1:02:03',
      '+0:00',
    ]);
  });

  it('should say how long ago, and how long until', () => {
    const now = Date.parse('2026-11-20T12:00:00Z');
    expect(formatAgo(new Date(now - 2_000).toISOString(), now)).toBe('just now');
    expect(formatAgo(new Date(now - 180_000).toISOString(), now)).toBe('3 min ago');
    expect(formatAgo(new Date(now - 86_400_000).toISOString(), now)).toBe('1 day ago');
    expect(formatAgo(null, now)).toBe('never');
    expect(formatUntil(new Date(now + 87 * 86_400_000).toISOString(), now)).toBe('in 87 days');
    expect(formatUntil(new Date(now - 7_200_000).toISOString(), now)).toBe('2 h ago');
  });

  it('should count and cut', () => {
    expect([plural(1, 'job'), plural(5_000, 'job')]).toEqual(['1 job', '5,000 jobs']);
    expect(firstLine('runner lost\nat line 2')).toBe('runner lost');
    expect(firstLine('x'.repeat(10), 5)).toBe('xxxx…');
  });
});
