import { concat, defer, from, merge, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { splitLines, type SplitLinesOptions } from '../../src/operators/splitLines.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Runs chunks through splitLines synchronously and returns every line (or throws the error). */
function linesOf(chunks: Iterable<Uint8Array | string>, options?: SplitLinesOptions): string[] {
  const lines: string[] = [];
  let failure: unknown;
  from(chunks)
    .pipe(splitLines(options))
    .subscribe({ next: (line) => lines.push(line), error: (error) => (failure = error) });
  if (failure !== undefined) throw failure;
  return lines;
}

describe('splitLines operator', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should emit a line once its newline arrives, joining chunks', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a-b-c-|', { a: utf8('hel'), b: utf8('lo\nwor'), c: utf8('ld\n') });
      const expected = '---x-y-|';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: 'hello', y: 'world' });
    });
  });

  it('should flush a last line without newline when the source completes', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a--|', { a: utf8('one\ntwo') });
      const expected = '-x--(y|)';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: 'one', y: 'two' });
    });
  });

  it('should not emit an extra empty line after a final newline', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a--|', { a: utf8('one\n') });
      const expected = '-x--|';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: 'one' });
    });
  });

  it('should emit empty lines and strip one \\r of a CRLF, even when CR and LF are in different chunks', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a------b---|', { a: utf8('a\r\n\r\n\nb\r'), b: utf8('\nc\rd\n') });
      const expected = '-(xee)--(yz)|';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: 'a', e: '', y: 'b', z: 'c\rd' });
    });
  });

  it('should decode a multi-byte character split across chunks', () => {
    const euro = utf8('€'); // e2 82 ac
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a-b-c-|', { a: euro.slice(0, 1), b: euro.slice(1, 2), c: Uint8Array.of(euro[2]!, 0x0a) });
      const expected = '-----x-|';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: '€' });
    });
  });

  it('should accept string chunks', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a-b-|', { a: 'héllo\nwo', b: 'rld' });
      const expected = '-x---(y|)';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: 'héllo', y: 'world' });
    });
  });

  it('should cut a line longer than maxLineBytes and mark how many bytes were dropped', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a-b-c---|', { a: utf8('abc'), b: utf8('defg'), c: utf8('h\nij\n') });
      const expected = '-----(xy)|';
      expectObservable(e1.pipe(splitLines({ maxLineBytes: 4 }))).toBe(expected, {
        x: 'abcd …[truncated 4 bytes]',
        y: 'ij',
      });
    });
  });

  it('should forward an error and drop the unfinished line', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('-a-b-#', { a: utf8('done\npart'), b: utf8('ial') }, new Error('EPIPE'));
      const expected = '-x---#';
      expectObservable(e1.pipe(splitLines())).toBe(expected, { x: 'done' }, new Error('EPIPE'));
    });
  });

  it('should keep separate state for each subscription of one operator', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const toLines = splitLines();
      const e1 = cold('-a--|', { a: utf8('x') });
      const e2 = cold('--b-|', { b: utf8('y\n') });
      const expected = '--y-(x|)';
      expectObservable(merge(e1.pipe(toLines), e2.pipe(toLines))).toBe(expected, { x: 'x', y: 'y' });
    });
  });

  it('should decode a 4-byte emoji split into every possible pair of chunks', () => {
    const bytes = utf8('a😀b\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(linesOf([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(['a😀b']);
    }
  });

  it('should decode mixed text fed one byte at a time', () => {
    const text = 'Grüße, 世界 😀\r\n\nnext';
    expect(linesOf(Array.from(utf8(text), (byte) => Uint8Array.of(byte)))).toEqual(['Grüße, 世界 😀', '', 'next']);
  });

  it('should turn invalid UTF-8 bytes into U+FFFD without throwing', () => {
    expect(linesOf([Uint8Array.of(0x61, 0xff, 0xfe, 0x62, 0x0a)])).toEqual(['a\uFFFD\uFFFDb']);
  });

  it('should keep a U+FEFF byte order mark as content', () => {
    expect(linesOf([utf8('\uFEFFa\n\uFEFFb\n')])).toEqual(['\uFEFFa', '\uFEFFb']);
  });

  it('should cut a 3 MiB line to its first 1 MiB', () => {
    const mib = 1024 * 1024;
    const line = linesOf([new Uint8Array(3 * mib).fill(0x61), utf8('\nnext\n')], { maxLineBytes: mib });
    expect(line).toEqual([`${'a'.repeat(mib)} …[truncated ${2 * mib} bytes]`, 'next']);
  });

  it('should cut at a character boundary and count the bytes of the cut character as dropped', () => {
    expect(linesOf([utf8('abcd€\n')], { maxLineBytes: 5 })).toEqual(['abcd …[truncated 3 bytes]']);
    expect(linesOf([utf8('ab😀cd\n')], { maxLineBytes: 5 })).toEqual(['ab …[truncated 6 bytes]']);
    expect(linesOf([utf8('ab😀cd\n')], { maxLineBytes: 6 })).toEqual(['ab😀 …[truncated 2 bytes]']);
  });

  it('should not count the \\r of a CRLF against maxLineBytes', () => {
    expect(linesOf([utf8('abcd\r\nabcde\r\n')], { maxLineBytes: 4 })).toEqual(['abcd', 'abcd …[truncated 1 bytes]']);
    expect(linesOf([utf8('abcd\r'), utf8('\n')], { maxLineBytes: 4 })).toEqual(['abcd']);
  });

  it('should use a custom truncation marker and forward its errors', () => {
    expect(linesOf(['abcdef\n'], { maxLineBytes: 2, truncationMarker: (n) => `<${n}>` })).toEqual(['ab<4>']);
    const boom = new Error('marker failed');
    const marker = (): string => {
      throw boom;
    };
    expect(() => linesOf(['abcdef\n'], { maxLineBytes: 2, truncationMarker: marker })).toThrow(boom);
  });

  it('should not keep the chunk buffers of a line it is carrying over', () => {
    const chunk = new Uint8Array(4).fill(0x61);
    const lines: string[] = [];
    const source = concat(
      from([chunk]),
      // The producer reuses its buffer for the next read, as a pooled reader may.
      defer(() => {
        chunk.fill(0x62);
        return of(utf8('\n'));
      }),
    );
    source.pipe(splitLines()).subscribe((line) => lines.push(line));
    expect(lines).toEqual(['aaaa']);
  });

  it('should not grow memory with an endless line', () => {
    const mib = 1024 * 1024;
    const chunk = new Uint8Array(mib).fill(0x61); // reused, so only splitLines could allocate
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const chunks = (function* () {
      for (let i = 0; i < 128; i++) {
        yield chunk;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      }
    })();
    const lines = linesOf(chunks, { maxLineBytes: 4 * mib });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith(` …[truncated ${124 * mib} bytes]`)).toBe(true);
    expect(peak).toBeLessThan(16 * mib);
  });

  it('should forward a source error without emitting the partial line', () => {
    const error = new Error('stream destroyed');
    const lines: string[] = [];
    let received: unknown;
    concat(
      from([utf8('a\nb')]),
      throwError(() => error),
    )
      .pipe(splitLines())
      .subscribe({ next: (line) => lines.push(line), error: (e) => (received = e) });
    expect(lines).toEqual(['a']);
    expect(received).toBe(error);
  });
});
