import ExcelJS from 'exceljs';
import { SmftError } from '../util/errors.js';
import { checkInputFile } from '../util/input.js';
import type { CsvTable } from './csv.js';

/**
 * Read one sheet of an .xlsx workbook (e.g. the official Dutch norms, sheet `SensoryRatings`)
 * as a table of strings, like readCsv. Cell values are kept at full precision.
 */
export async function readXlsx(file: string, sheet?: string): Promise<CsvTable> {
  // Workbooks are zip files read into memory: 256 MiB is far above any norms table.
  checkInputFile(file, { maxBytes: 256 * 2 ** 20, what: '.xlsx workbooks' });
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(file);
  } catch (e) {
    throw new SmftError(`not a readable .xlsx workbook (${(e as Error).message.split('\n')[0]})`, file);
  }
  const ws = sheet ? wb.getWorksheet(sheet) : wb.worksheets[0];
  if (!ws) throw new SmftError(`no sheet '${sheet}' (sheets: ${wb.worksheets.map((w) => w.name).join(', ')})`, file);
  const all: string[][] = [];
  const lines: number[] = [];
  ws.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: string[] = [];
    for (let c = 1; c <= ws.columnCount; c++) cells.push(cellText(row.getCell(c).value));
    all.push(cells);
    lines.push(rowNumber);
  });
  if (all.length < 2) throw new SmftError(`sheet '${ws.name}' has no data rows`, file);
  const header = all[0].map((h) => h.trim());
  while (header.length && header[header.length - 1] === '') header.pop();
  const rows = all.slice(1).map((r) => r.slice(0, header.length));
  return { file: `${file}[${ws.name}]`, header, rows, line: (r) => lines[r + 1], col: (n) => header.indexOf(n) };
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && 'result' in v) return cellText((v as { result: ExcelJS.CellValue }).result);
  if (typeof v === 'object' && 'richText' in v) return (v as { richText: Array<{ text: string }> }).richText.map((t) => t.text).join('');
  if (typeof v === 'object' && 'error' in v) return '';
  return String(v);
}
