/**
 * Search in a transcript: what matches (case-insensitive, the text as shown: terminal colours left out), how many
 * times, and the pieces of a line cut at the matches so the page can mark each one. Pure: the page renders.
 */
import { parseAnsi, type AnsiStyle } from './ansi.js';

/** A global, case-insensitive pattern for the words typed; undefined when nothing is typed. */
export function searchPattern(needle: string): RegExp | undefined {
  const trimmed = needle.trim();
  return trimmed === '' ? undefined : new RegExp(trimmed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
}

/** The text as shown: its ANSI escape sequences left out. */
export function plainText(text: string): string {
  return text.includes('\x1b') ? parseAnsi(text).reduce((all, run) => all + run.text, '') : text;
}

export function countMatches(text: string, pattern: RegExp): number {
  let count = 0;
  pattern.lastIndex = 0;
  while (pattern.exec(text)) count++;
  return count;
}

/** A run of text in one style; `match` is the index (within this text) of the match it is part of. */
export interface Piece extends AnsiStyle {
  text: string;
  match?: number;
}

/**
 * The text's styled runs, cut where matches of the pattern begin and end (a match across two colours becomes two
 * pieces with the same index), and how many matches there were.
 */
export function highlightPieces(text: string, pattern: RegExp | undefined): { pieces: Piece[]; count: number } {
  const runs: Piece[] = text.includes('\x1b') ? parseAnsi(text) : text === '' ? [] : [{ text }];
  if (!pattern) return { pieces: runs, count: 0 };
  const plain = runs.reduce((all, run) => all + run.text, '');
  const ranges: Array<[number, number]> = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(plain); m; m = pattern.exec(plain)) ranges.push([m.index, m.index + m[0].length]);
  if (ranges.length === 0) return { pieces: runs, count: 0 };
  const pieces: Piece[] = [];
  let offset = 0;
  let r = 0;
  for (const run of runs) {
    const end = offset + run.text.length;
    let at = offset;
    while (at < end) {
      let range = ranges[r];
      while (range !== undefined && range[1] <= at) range = ranges[++r];
      if (range === undefined || range[0] >= end) {
        pieces.push({ ...run, text: run.text.slice(at - offset) });
        break;
      }
      if (range[0] > at) {
        pieces.push({ ...run, text: run.text.slice(at - offset, range[0] - offset) });
        at = range[0];
      }
      const stop = Math.min(range[1], end);
      pieces.push({ ...run, text: run.text.slice(at - offset, stop - offset), match: r });
      at = stop;
    }
    offset = end;
  }
  return { pieces, count: ranges.length };
}
