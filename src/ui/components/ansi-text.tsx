/** A line of agent output with its ANSI colours, as text nodes only (never HTML). */
import { parseAnsi, runClasses, runColors } from '../ansi.js';

export function AnsiText({ text }: { text: string }) {
  if (!text.includes('\x1b')) return <>{text}</>;
  return (
    <>
      {parseAnsi(text).map((run, i) => {
        const classes = runClasses(run);
        const colors = runColors(run);
        return classes === '' && !colors.color && !colors.backgroundColor ? (
          run.text
        ) : (
          <span key={i} class={classes || undefined} style={colors}>
            {run.text}
          </span>
        );
      })}
    </>
  );
}
