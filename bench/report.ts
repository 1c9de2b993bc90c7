import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A benchmark section: a title, column names, and rows of printable values. */
export interface Section {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  /** Raw measurements for the JSON file (numbers unrounded). */
  data?: unknown;
}

function format(value: string | number): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  }
  return value;
}

export function renderTable(section: Section): string {
  const cells = [section.columns, ...section.rows.map((row) => row.map(format))];
  const widths = section.columns.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    `### ${section.title}`,
    '',
    line(section.columns),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...cells.slice(1).map(line),
    '',
  ].join('\n');
}

/** A section's columns and rows from one list of (column, cell of a row) pairs: each column's name stands by its value. */
export function tabulate<T>(items: readonly T[], columns: ReadonlyArray<readonly [string, (item: T) => string | number]>): Pick<Section, 'columns' | 'rows'> {
  return { columns: columns.map(([name]) => name), rows: items.map((item) => columns.map(([, cell]) => cell(item))) };
}

/** Prints every section as a Markdown table and writes them all to bench/results/<name>.json. */
export function publish(name: string, sections: Section[]): void {
  for (const section of sections) console.log(renderTable(section));
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, node: process.version, platform: `${process.platform}-${process.arch}`, sections }, null, 2)}\n`,
  );
  console.log(`written: ${file}`);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
