/**
 * Runs the benchmarks named on the command line (all `*.bench.ts` when none), prints one table
 * with each figure next to its peer's from the same run and the ratio, and writes the table to
 * bench/results/.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchRow } from './row.js';

const here = dirname(fileURLToPath(import.meta.url));

function ratio(row: BenchRow): string {
  if (row.peerValue === undefined || row.peerValue === 0) return '';
  return `${(row.value / row.peerValue).toFixed(2)}×`;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (Number.isInteger(n)) return String(n);
  return n >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

function table(rows: Array<BenchRow & { bench: string }>): string {
  const lines = [
    '| bench | figure | ours | peer | peer figure | ratio (ours/peer) | note |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.bench} | ${r.figure} | ${fmt(r.value)} ${r.unit} | ${r.peer ?? ''} | ${r.peerValue === undefined ? '' : `${fmt(r.peerValue)} ${r.unit}`} | ${ratio(r)} | ${r.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
  const selected = wanted.length ? files.filter((f) => wanted.includes(f.replace('.bench.ts', ''))) : files;
  const unknown = wanted.filter((w) => !files.includes(`${w}.bench.ts`));
  if (unknown.length) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; have: ${files.map((f) => f.replace('.bench.ts', '')).join(', ')}`,
    );
    process.exit(2);
  }
  const rows: Array<BenchRow & { bench: string }> = [];
  for (const file of selected) {
    const name = file.replace('.bench.ts', '');
    console.error(`# ${name}`);
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { run(): Promise<BenchRow[]> };
    for (const row of await mod.run()) rows.push({ ...row, bench: name });
  }
  const out = table(rows);
  console.log(out);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(here, 'results');
  await mkdir(dir, { recursive: true });
  const body = `# Benchmark results (${new Date().toISOString()}, ${process.version}, ${process.platform})\n\n${out}\n`;
  await writeFile(join(dir, `${stamp}.md`), body);
  await writeFile(join(dir, 'latest.md'), body);
  process.exit(0);
}

await main();
