/**
 * Runs the benchmarks named on the command line (all `*.bench.ts` when none), prints one table
 * with each figure next to its peer's from the same run and the ratio, and writes the table to
 * bench/results/.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
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

/**
 * Writes this run's table to a dated file, and merges it into latest.json / latest.md: a run of
 * some benchmarks replaces only their rows, so the latest table always covers every benchmark.
 */
async function record(rows: Array<BenchRow & { bench: string }>): Promise<void> {
  const now = new Date().toISOString();
  const dir = join(here, 'results');
  await mkdir(dir, { recursive: true });
  const header = (at: string) => `# Benchmark results (${at}, ${process.version}, ${process.platform})\n\n`;
  await writeFile(join(dir, `${now.replace(/[:.]/g, '-')}.md`), `${header(now)}${table(rows)}\n`);
  type Latest = Record<string, { at: string; rows: Array<BenchRow & { bench: string }> }>;
  let latest: Latest = {};
  try {
    latest = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as Latest;
  } catch {
    // No earlier run recorded.
  }
  for (const bench of new Set(rows.map((r) => r.bench))) {
    latest[bench] = { at: now, rows: rows.filter((r) => r.bench === bench) };
  }
  const names = Object.keys(latest).sort();
  await writeFile(join(dir, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
  const when = names.map((n) => `${n}: ${latest[n]!.at}`).join(', ');
  await writeFile(join(dir, 'latest.md'), `${header(when)}${table(names.flatMap((n) => latest[n]!.rows))}\n`);
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
  console.log(table(rows));
  await record(rows);
  process.exit(0);
}

await main();
