/**
 * Remembers what an executable was built from (every file esbuild read, the build scripts, the
 * Node binary's version) so a test can tell whether dist/klient is stale without rebuilding.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

export interface BuildRecord {
  /** The entry point bundled; a build of another entry is not this build. */
  entry: string;
  node: string;
  /** File → sha256 of its content when the executable was built. */
  inputs: Record<string, string>;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function recordInputs(entry: string, files: string[]): Promise<BuildRecord> {
  const inputs: Record<string, string> = {};
  for (const file of [...new Set(files)].sort()) inputs[file] = await sha256File(file);
  return { entry, node: process.version, inputs };
}

export async function writeRecord(file: string, record: BuildRecord): Promise<void> {
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** True when `file` records a build of `entry` whose Node version and every input still match. */
export async function recordStillHolds(file: string, entry: string): Promise<boolean> {
  let record: BuildRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as BuildRecord;
  } catch {
    return false;
  }
  if (record.entry !== entry || record.node !== process.version) return false;
  for (const [input, hash] of Object.entries(record.inputs)) {
    try {
      if ((await sha256File(input)) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}
