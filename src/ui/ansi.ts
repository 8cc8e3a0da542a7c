/**
 * ANSI escape sequences in agent output, turned into styled runs of plain text. Only SGR (colours, bold, dim,
 * italic, underline, inverse) is kept; every other control sequence (cursor moves, OSC titles and links, …) is
 * dropped. The result is data, never markup: the page renders each run's text as a text node, so output that
 * holds HTML stays text.
 */

/** A colour: 0–15 for the terminal palette (a CSS class, so themes can tune it), or `#rrggbb`. */
export type AnsiColor = number | string;

export interface AnsiStyle {
  fg?: AnsiColor;
  bg?: AnsiColor;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface AnsiRun extends AnsiStyle {
  text: string;
}

// CSI (ESC [ params final), OSC (ESC ] … BEL or ESC \), and lone two-character escapes.
const ESCAPE = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[0-~])/g;

/** The xterm colour cube's six levels of each primary: 0, then 95 to 255 in steps of 40. */
const cubeLevel = (step: number) => (step === 0 ? 0 : 55 + 40 * step);
const hex = (n: number) => n.toString(16).padStart(2, '0');
const rgb = (r: number, g: number, b: number) => `#${hex(r)}${hex(g)}${hex(b)}`;

/** The xterm 256-colour palette: 0–15 stay palette indexes, the rest become hex. */
export function color256(n: number): AnsiColor {
  if (n < 16) return n;
  if (n < 232) {
    const i = n - 16;
    return rgb(cubeLevel(Math.floor(i / 36)), cubeLevel(Math.floor(i / 6) % 6), cubeLevel(i % 6));
  }
  const level = 8 + (n - 232) * 10;
  return rgb(level, level, level);
}

const byte = (n: number | undefined) => Math.max(0, Math.min(255, n ?? 0));

/** Applies one SGR parameter list to a style (a new object: runs keep their own). */
export function applySgr(style: AnsiStyle, params: number[]): AnsiStyle {
  const next: AnsiStyle = { ...style };
  for (let i = 0; i < params.length; i++) {
    const p = params[i] ?? 0; // as a missing SGR parameter means
    if (p === 0) for (const key of Object.keys(next) as (keyof AnsiStyle)[]) delete next[key];
    else if (p === 1) next.bold = true;
    else if (p === 2) next.dim = true;
    else if (p === 3) next.italic = true;
    else if (p === 4) next.underline = true;
    else if (p === 7) next.inverse = true;
    else if (p === 22) delete next.bold, delete next.dim;
    else if (p === 23) delete next.italic;
    else if (p === 24) delete next.underline;
    else if (p === 27) delete next.inverse;
    else if (p >= 30 && p <= 37) next.fg = p - 30;
    else if (p >= 90 && p <= 97) next.fg = p - 90 + 8;
    else if (p === 39) delete next.fg;
    else if (p >= 40 && p <= 47) next.bg = p - 40;
    else if (p >= 100 && p <= 107) next.bg = p - 100 + 8;
    else if (p === 49) delete next.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      if (params[i + 1] === 5 && params[i + 2] !== undefined) {
        next[key] = color256(byte(params[i + 2]));
        i += 2;
      } else if (params[i + 1] === 2) {
        next[key] = rgb(byte(params[i + 2]), byte(params[i + 3]), byte(params[i + 4]));
        i += 4;
      } else i = params.length; // malformed: ignore the rest rather than guess
    }
  }
  return next;
}

/** Splits text into runs of one style each; empty runs are left out. */
export function parseAnsi(text: string): AnsiRun[] {
  const runs: AnsiRun[] = [];
  let style: AnsiStyle = {};
  let last = 0;
  const push = (chunk: string) => {
    if (chunk !== '') runs.push({ ...style, text: chunk });
  };
  for (const match of text.matchAll(ESCAPE)) {
    push(text.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] === 'm') {
      const params = (match[1] ?? '').split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
      style = applySgr(style, params);
    }
  }
  push(text.slice(last));
  return runs;
}

/** The colours a run shows: inverse swaps foreground and background. */
function shownColors(run: AnsiStyle): [AnsiColor | undefined, AnsiColor | undefined] {
  return run.inverse ? [run.bg, run.fg] : [run.fg, run.bg];
}

/**
 * The CSS classes for a run's palette colours and attributes; `a-inv` paints the theme's colours swapped, and a
 * palette class (later in the style sheet) overrides it. Hex colours go in an inline style object instead.
 */
export function runClasses(run: AnsiStyle): string {
  const [fg, bg] = shownColors(run);
  const classes: string[] = [];
  if (run.inverse) classes.push('a-inv');
  if (typeof fg === 'number') classes.push(`a-fg${fg}`);
  if (typeof bg === 'number') classes.push(`a-bg${bg}`);
  if (run.bold) classes.push('a-b');
  if (run.dim) classes.push('a-d');
  if (run.italic) classes.push('a-i');
  if (run.underline) classes.push('a-u');
  return classes.join(' ');
}

/** Hex colours of a run, for a style object (set through the DOM, which a strict CSP allows). */
export function runColors(run: AnsiStyle): { color?: string; backgroundColor?: string } {
  const [fg, bg] = shownColors(run);
  const out: { color?: string; backgroundColor?: string } = {};
  if (typeof fg === 'string') out.color = fg;
  if (typeof bg === 'string') out.backgroundColor = bg;
  return out;
}
