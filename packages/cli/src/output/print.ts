/** Listings: a table for people, or `--json` (one JSON document on stdout) for scripts. */
import { formatTable } from './format.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(header: string[], rows: string[][], empty = '(none)'): void {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  process.stdout.write(`${formatTable([header, ...rows])}\n`);
}
