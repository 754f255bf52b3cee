/**
 * What Kloud's download endpoint serves as "the Klient executable", with its sha256 (the install
 * script refuses anything else):
 *
 * - `executable`: the single executable from `npm run build:klient` (dist/klient/manifest.json).
 * - `launcher`: a small shell script that runs Klient from this source tree with this Node
 *   (for development, and for hosts where the executable was not built). Only meaningful for
 *   machines on this host (the local provider).
 * - `auto`: the executable when it exists and is newer than every Klient and protocol source
 *   file, otherwise the launcher (logged at start).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellQuote } from '../cloudinit/install-script.js';

export interface KlientArtifact {
  kind: 'executable' | 'launcher';
  sha256: string;
  size: number;
  /** The file to stream, or the launcher's bytes. */
  file?: string;
  body?: Buffer;
  version: string;
}

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const distDir = join(repoRoot, 'dist', 'klient');

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

async function executable(requireFresh: boolean): Promise<KlientArtifact | undefined> {
  let manifest: { file: string; version: string };
  try {
    manifest = JSON.parse(await readFile(join(distDir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const file = join(distDir, manifest.file);
  const info = await stat(file).catch(() => undefined);
  if (!info) return undefined;
  if (requireFresh) {
    const sources = Math.max(
      await newestSource(join(repoRoot, 'packages', 'klient', 'src')),
      await newestSource(join(repoRoot, 'packages', 'protocol', 'src')),
    );
    if (sources > info.mtimeMs) return undefined;
  }
  // Hashed here, not read from the manifest: the checksum machines verify must be of these bytes.
  return {
    kind: 'executable',
    file,
    sha256: await sha256File(file),
    size: info.size,
    version: manifest.version,
  };
}

function launcher(): KlientArtifact {
  const loader = import.meta.resolve('tsx');
  const main = join(repoRoot, 'packages', 'klient', 'src', 'main.ts');
  const body = Buffer.from(
    `#!/bin/sh\n# Klient launcher: runs Klient from the source tree at ${repoRoot} (development build).\n` +
      `exec ${shellQuote(process.execPath)} --import ${shellQuote(loader)} ${shellQuote(main)} "$@"\n`,
  );
  return {
    kind: 'launcher',
    body,
    sha256: createHash('sha256').update(body).digest('hex'),
    size: body.length,
    version: 'source',
  };
}

export async function resolveKlientArtifact(
  mode: 'auto' | 'executable' | 'launcher',
): Promise<KlientArtifact> {
  if (mode === 'launcher') return launcher();
  const exe = await executable(mode === 'auto');
  if (exe) return exe;
  if (mode === 'executable')
    throw new Error(
      `no Klient executable in ${distDir}: run \`npm run build:klient\` or use --klient-artifact launcher`,
    );
  return launcher();
}
