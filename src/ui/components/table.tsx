/** The list pages' table: loading and empty states, a header row, and cells labelled for the narrow layout. */
import type { ComponentChildren } from 'preact';

export interface Column<Row> {
  /** The header, and each cell's `data-label` (the narrow layout shows it beside the value). */
  label?: string;
  /** The cells' classes: `num` for a number, `actions` for a row's buttons (its header is for screen readers only). */
  class?: string;
  cell: (row: Row) => ComponentChildren;
  /** A tooltip for the cell. */
  title?: (row: Row) => string;
  /** The cell of the footer row; the first column's footer is the row's heading (e.g. "All"). */
  footer?: ComponentChildren;
}

interface TableProps<Row> {
  /** The rows; undefined while they load. */
  rows: Row[] | undefined;
  /** What to say when there are none. */
  empty: ComponentChildren;
  /** The table's class, which its page's styles hang on. */
  class: string;
  columns: Column<Row>[];
  /** A row's key and attributes: the `data-*` that names what it shows, a class. */
  rowProps: (row: Row) => { key: string; class?: string } & Record<`data-${string}`, string>;
  /** Show the columns' footers as a last row. */
  footer?: boolean;
  /** What the table holds, for screen readers. */
  caption?: string;
}

export function DataTable<Row>({ rows, empty, class: className, columns, rowProps, footer, caption }: TableProps<Row>) {
  if (rows === undefined) return <p class="muted">Loading…</p>;
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class={className}>
      {caption && <caption class="sr-only">{caption}</caption>}
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column.label} scope="col" class={column.class}>
              {column.class?.includes('actions') ? <span class="sr-only">{column.label}</span> : column.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          // The key written out: inside a spread, the JSX runtime would take it for an attribute and match rows by
          // position, so a row's state (an open "Yes, revoke") would move to the row that came in above it.
          const { key, ...attributes } = rowProps(row);
          return (
            <tr key={key} {...attributes}>
              {columns.map((column) => (
                <td key={column.label} class={column.class} data-label={column.label} title={column.title?.(row) || undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          );
        })}
      </tbody>
      {footer && (
        <tfoot>
          <tr>
            {columns.map((column, i) =>
              i === 0 ? (
                <th key={column.label} scope="row">
                  {column.footer}
                </th>
              ) : (
                <td key={column.label} class={column.class} data-label={column.label}>
                  {column.footer}
                </td>
              ),
            )}
          </tr>
        </tfoot>
      )}
    </table>
  );
}
