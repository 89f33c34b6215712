/** A number with fixed decimals and an explicit sign, so columns of mixed signs line up. */
export function fmt(x: number, digits = 3): string {
  const s = Math.abs(x).toFixed(digits);
  // A value that rounds to zero prints as " 0.000", never "-0.000".
  return (x < 0 && Number(s) !== 0 ? '-' : ' ') + s;
}

/** A small matrix as aligned text rows, each prefixed with `indent`. */
export function formatMatrix(rows: readonly (readonly number[])[], digits = 3, indent = '    '): string {
  const cells = rows.map((r) => r.map((v) => fmt(v, digits)));
  const width = Math.max(...cells.flat().map((c) => c.length));
  return cells.map((r) => indent + r.map((c) => c.padStart(width)).join(' ')).join('\n');
}

/** Rows of text cells as a left-aligned table (first column) with right-aligned other columns. */
export function formatTable(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows
    .map((r) =>
      (
        indent + r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')
      ).trimEnd(),
    )
    .join('\n');
}
