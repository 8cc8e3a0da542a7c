import loglevel from 'loglevel';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runner/logger.js';

const TOKEN = `fos_${'Zy9'.repeat(10)}ab`;

describe('logger', () => {
  const capture = (options: Partial<Parameters<typeof createLogger>[0]> = {}) => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      write: (line) => lines.push(line),
      now: () => new Date('2026-01-02T03:04:05.000Z'),
      ...options,
    });
    return { log, lines };
  };

  it('should write one readable line per call with its fields', () => {
    const { log, lines } = capture();
    log.info('got job', { jobId: 'j1', agent: 'Sarah' });
    log.warn('no fields');
    expect(lines).toEqual(['[info ] got job {"jobId":"j1","agent":"Sarah"}', '[warn ] no fields']);
  });

  it('should drop calls below its level', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.debug('hidden');
    log.info('hidden too');
    log.error('shown');
    expect(lines).toEqual(['[error] shown']);
  });

  it('should write one JSON object per line in json format, errors included', () => {
    const { log, lines } = capture({ format: 'json' });
    log.error('boom "quoted"\nnext', { error: new Error('bad') });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-01-02T03:04:05.000Z',
      level: 'error',
      message: 'boom "quoted"\nnext',
      error: { name: 'Error', message: 'bad' },
    });
  });

  it('should show a secret only as its 8-character preview, wherever it appears', () => {
    const { log, lines } = capture({ secrets: [TOKEN], format: 'json' });
    log.info(`using ${TOKEN}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(lines[0]).not.toContain(TOKEN);
    expect(lines[0]).toContain('fos_Zy9Z…');
  });

  it('should escape every control character of a field or message, so that one call is one plain line', () => {
    for (const format of ['text', 'json'] as const) {
      const { log, lines } = capture({ format });
      log.info('got job\r\n[error] forged', { agent: '\u009b2J\u202eexe.txt\u2028\u001b]0;title\u0007' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029]/);
      expect(lines[0]).toContain('\\u009b2J\\u202eexe.txt');
      if (format === 'json') expect(JSON.parse(lines[0]!).agent).toBe('\u009b2J\u202eexe.txt\u2028\u001b]0;title\u0007');
    }
  });

  it('should survive circular fields', () => {
    const { log, lines } = capture();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    log.info('circular', { loop });
    expect(lines[0]).toContain('[circular]');
  });

  it("should leave nothing in loglevel's global registry, however many loggers are made", () => {
    const before = Object.keys(loglevel.getLoggers()).length;
    const made = Array.from({ length: 100 }, (_, index) => capture({ level: index % 2 ? 'warn' : 'info' }));
    expect(Object.keys(loglevel.getLoggers())).toHaveLength(before);
    // Each still writes at its own level.
    for (const { log } of made) log.info('hello');
    expect(made.map(({ lines }) => lines.length)).toEqual(made.map((_, index) => (index % 2 ? 0 : 1)));
  });
});
