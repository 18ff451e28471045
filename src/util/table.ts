/**
 * Rows as aligned columns for a terminal (summaries on stdout): the first row is the header, two
 * spaces between columns, a numeric column (every cell below the header a number, '' or NaN)
 * right-aligned so that signs and decimal points line up, text left-aligned. No trailing spaces.
 */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const cols = Math.max(0, ...cells.map((r) => r.length));
  const width = Array.from({ length: cols }, (_, c) => Math.max(0, ...cells.map((r) => [...(r[c] ?? '')].length)));
  const numeric = Array.from({ length: cols }, (_, c) => cells.length > 1 && cells.slice(1).every((r) => /^([-+−]?(\d|\.\d|∞|Infinity)|NaN$|$)/.test(r[c] ?? '')));
  return cells
    .map((r) => r.map((s, c) => {
      const gap = ' '.repeat(width[c] - [...s].length);
      return numeric[c] ? gap + s : s + gap;
    }).join('  ').trimEnd())
    .join('\n');
}
