/**
 * Builds Klient as one executable file for this machine's platform:
 * `dist/klient/klient-<platform>-<arch>` (Node single executable application carrying the
 * bundled agent and node-pty's pty.node), its `.sha256` (sha256sum format) and `manifest.json`
 * (version, platform, arch, sha256, size) for Kloud to serve. See scripts/README.md.
 *
 *   node --import tsx scripts/build-klient.ts [--entry FILE] [--out DIR]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { type AddonSource, bundleKlient } from './klient-executable/bundle.js';
import { recordInputs, recordStillHolds, sha256File, writeRecord } from './klient-executable/freshness.js';
import { makeSingleExecutable } from './klient-executable/sea.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const klientPackage = join(root, 'packages/klient/package.json');

export const defaultEntry = join(root, 'packages/klient/src/main.ts');
export const defaultOutDir = join(root, 'dist/klient');
export const executableName = `klient-${process.platform}-${process.arch}`;

export interface BuildOptions {
  entry?: string;
  outDir?: string;
}

export interface KlientBuild {
  executable: string;
  sha256: string;
  version: string;
  size: number;
}

/** Where the build writes its outputs; the test and Kloud read them from here. */
export function klientOutputs(outDir = defaultOutDir) {
  const executable = join(outDir, executableName);
  return {
    executable,
    sha256File: `${executable}.sha256`,
    /** The script inside the executable; stack traces name it, so it is kept to read them. */
    bundle: `${executable}.cjs`,
    manifest: join(outDir, 'manifest.json'),
    record: join(outDir, '.build-inputs.json'),
  };
}

/** The compiled addons the executable carries: node-pty's and @kk/allocator's, as installed for the klient package. */
function addonFiles(): AddonSource[] {
  const resolvePackage = createRequire(klientPackage).resolve;
  const built = (pkg: string, name: string) => ({
    name,
    file: join(dirname(resolvePackage(`${pkg}/package.json`)), `build/Release/${name}.node`),
  });
  return [built('node-pty', 'pty'), built('@kk/allocator', 'allocator')];
}

const buildScripts = [
  fileURLToPath(import.meta.url),
  ...['bundle.ts', 'sea.ts', 'native-addon.ts', 'freshness.ts'].map((f) =>
    join(root, 'scripts/klient-executable', f),
  ),
];

export async function buildKlient(options: BuildOptions = {}): Promise<KlientBuild> {
  const entry = resolve(options.entry ?? defaultEntry);
  const outDir = resolve(options.outDir ?? defaultOutDir);
  const out = klientOutputs(outDir);
  await mkdir(outDir, { recursive: true });
  // No record until the new outputs are all in place: a failed build must read as stale.
  await rm(out.record, { force: true });
  // A private scratch directory per build, so two builds at once cannot mix their blobs.
  const workDir = await mkdtemp(join(outDir, '.work-'));
  try {
    const bundle = out.bundle;
    const { inputs, assets } = await bundleKlient(entry, bundle, addonFiles());
    await makeSingleExecutable({ main: bundle, assets, workDir, output: out.executable });
    const version = await reportedVersion(out.executable);
    const sha256 = await sha256File(out.executable);
    const { size } = await stat(out.executable);
    await writeAtomically(out.sha256File, `${sha256}  ${basename(out.executable)}\n`);
    const manifest = {
      name: 'klient',
      version,
      platform: process.platform,
      arch: process.arch,
      file: basename(out.executable),
      sha256,
      size,
      node: process.version,
    };
    await writeAtomically(out.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    await writeRecord(out.record, await recordInputs(entry, [...inputs, ...buildScripts, klientPackage]));
    return { executable: out.executable, sha256, version, size };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The version the new executable reports (`klient version`): the one Kloud serves it under. Running
 * it is also the first proof that the bundle starts inside the executable.
 */
async function reportedVersion(executable: string): Promise<string> {
  const { stdout, stderr } = await run(executable, ['version'], { env: {} });
  const match = /^klient (\S+)\n$/.exec(stdout);
  if (!match) throw new Error(`${executable} version printed ${JSON.stringify(stdout)} ${stderr}`);
  if (stderr) throw new Error(`${executable} version wrote to stderr: ${stderr}`);
  return match[1]!;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** True when the executable in `outDir` exists and was built from exactly the current sources. */
export async function isKlientBuildFresh(options: BuildOptions = {}): Promise<boolean> {
  const out = klientOutputs(resolve(options.outDir ?? defaultOutDir));
  try {
    await stat(out.executable);
  } catch {
    return false;
  }
  return recordStillHolds(out.record, resolve(options.entry ?? defaultEntry));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entry: { type: 'string' }, out: { type: 'string' } } });
  const started = Date.now();
  const build = await buildKlient({ entry: values.entry, outDir: values.out });
  const mib = (build.size / 1024 / 1024).toFixed(1);
  console.log(
    `klient ${build.version}: ${build.executable} (${mib} MiB, sha256 ${build.sha256}) in ${Date.now() - started} ms`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`build-klient: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
