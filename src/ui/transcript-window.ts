/** How much of a transcript the page shows at once, so that a long job stays smooth (the browser tests use these). */

/** Rows shown at first, and how many more each "show earlier" adds. */
export const INITIAL_WINDOW = 300;
export const LOAD_MORE = 1000;
/**
 * A tool's long output shows its first and last lines (the command's start, and where a log says how it ended)
 * with the rest folded between them; the fold opens in place.
 */
export const OUTPUT_HEAD_LINES = 4;
export const OUTPUT_TAIL_LINES = 16;

/** The lines of an output a fold hides, [from, to), or undefined when it is short enough to show whole. */
export function foldedLines(lineCount: number): [number, number] | undefined {
  const hidden = lineCount - OUTPUT_HEAD_LINES - OUTPUT_TAIL_LINES;
  return hidden > 2 ? [OUTPUT_HEAD_LINES, lineCount - OUTPUT_TAIL_LINES] : undefined;
}
