/** A Markdown table with padded columns, as the suites print their results and the README shows them. */
export function markdownTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => row.map(String));
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]?.length ?? 0)));
  const format = (row: readonly string[]) => `| ${widths.map((width, column) => (row[column] ?? '').padEnd(width)).join(' | ')} |`;
  return [format(header), format(widths.map((width) => '-'.repeat(width))), ...cells.map(format)].join('\n');
}
