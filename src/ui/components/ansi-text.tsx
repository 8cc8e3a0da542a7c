/**
 * Agent output with its ANSI colours, as text nodes only (never HTML), with the matches of a search marked. Each
 * mark carries its index among the item's matches (`first` is the index of this text's first match), and the
 * current one is told apart so the page can scroll to it.
 */
import { runClasses, runColors } from '../ansi.js';
import { highlightPieces, type Piece } from '../search.js';

interface Props {
  text: string;
  /** The search, if any: its matches are marked. */
  pattern?: RegExp;
  /** The index, among the item's matches, of this text's first one. */
  first?: number;
  /** The index of the current match among the item's, if it is in this item. */
  current?: number;
}

function styled(piece: Piece, key: number) {
  const classes = runClasses(piece);
  const colors = runColors(piece);
  return classes === '' && !colors.color && !colors.backgroundColor ? (
    piece.text
  ) : (
    <span key={key} class={classes || undefined} style={colors}>
      {piece.text}
    </span>
  );
}

export function AnsiText({ text, pattern, first = 0, current }: Props) {
  if (!pattern && !text.includes('\x1b')) return <>{text}</>;
  const { pieces } = highlightPieces(text, pattern);
  return (
    <>
      {pieces.map((piece, i) =>
        piece.match === undefined ? (
          styled(piece, i)
        ) : (
          <mark key={i} class={first + piece.match === current ? 'current' : undefined} data-match={first + piece.match}>
            {styled(piece, i)}
          </mark>
        ),
      )}
    </>
  );
}
