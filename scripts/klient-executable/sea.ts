/**
 * Turns a CommonJS bundle into a Node single executable application: a preparation blob made by
 * this very Node binary (`--experimental-sea-config`), injected into a copy of that binary with
 * postject. The blob and the binary must come from the same Node build, which is why both steps
 * use `process.execPath`.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The sentinel Node's SEA support looks for; postject flips it to say a blob is present. */
export const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaInput {
  /** The bundle to run as the executable's main script. */
  main: string;
  /** Asset key → file, readable at run time with `require('node:sea').getAsset(key)`. */
  assets: Record<string, string>;
  /** Scratch directory for the config and the blob. */
  workDir: string;
  /** Where the executable ends up; written under a temporary name and renamed into place. */
  output: string;
}

async function runQuietly(file: string, args: string[], what: string): Promise<void> {
  try {
    await run(file, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * Refuses a Node built without single-executable support (no fuse to flip, e.g. a distribution's
 * build linked against libnode) or one that already carries a blob, before doing any work.
 */
async function checkFuse(node: string): Promise<void> {
  const binary = await readFile(node);
  if (binary.includes(`${seaFuse}:1`))
    throw new Error(`${node} already carries a SEA blob; build with a plain Node`);
  if (!binary.includes(`${seaFuse}:0`)) {
    throw new Error(
      `${node} has no single executable application support (fuse ${seaFuse} not found); use an official Node build`,
    );
  }
}

export async function makeSingleExecutable(input: SeaInput): Promise<void> {
  await checkFuse(process.execPath);
  const config = join(input.workDir, 'sea-config.json');
  const blob = join(input.workDir, 'sea-prep.blob');
  await writeFile(
    config,
    JSON.stringify(
      {
        main: input.main,
        output: blob,
        disableExperimentalSEAWarning: true,
        // Snapshotting the compiled bundle saves most of the parse time at every start.
        useCodeCache: true,
        assets: input.assets,
      },
      null,
      2,
    ),
  );
  await runQuietly(process.execPath, ['--experimental-sea-config', config], 'making the SEA blob');

  const temp = `${input.output}.tmp`;
  await copyFile(process.execPath, temp);
  await chmod(temp, 0o755);
  // postject's CLI rather than its API: its ELF library prints harmless warnings on this
  // binary, which we keep out of the build output unless the injection fails.
  const postject = require.resolve('postject/dist/cli.js');
  await runQuietly(
    process.execPath,
    [postject, temp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', seaFuse],
    'injecting the SEA blob (postject)',
  );
  await rename(temp, input.output);
}
