/** Times as people read them: "3 min ago", with the date and time in full on hover and for screen readers. */
import { formatAbsolute, formatAgo } from '../format.js';

export function Ago({ iso, now }: { iso: string | null | undefined; now: number }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={formatAbsolute(iso)}>
      {formatAgo(iso, now)}
    </time>
  );
}
