/**
 * Bundles the klient entry into one CommonJS file for a Node single executable application:
 * SEA runs its main script as CommonJS with a `require` that only knows built-in modules, so
 * everything else must be inside the bundle, and native addons ride along as SEA assets.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { BundledAddon } from './native-addon.js';

const here = dirname(fileURLToPath(import.meta.url));
const loaderFile = join(here, 'native-addon.ts');

/** A native addon to carry: its name as node-pty asks for it (`pty`) and the built file. */
export interface AddonSource {
  name: string;
  file: string;
}

export interface BundleResult {
  /** Every file esbuild read, as absolute paths (for the freshness check). */
  inputs: string[];
  /** Asset key → file on disk, for the SEA config. */
  assets: Record<string, string>;
}

const bundledAddonsModule = 'klient:bundled-addons';

/**
 * The CommonJS files that load a native addon through a `loadNativeModule(name)` export:
 * node-pty's lib/utils.js (for pty.node) and @kk/allocator's src/native.cjs (for allocator.node).
 */
const nativeLoaderFiles = /([\\/]node-pty[\\/]lib[\\/]utils\.js|[\\/]allocator[\\/]src[\\/]native\.cjs)$/;

/**
 * node-pty and @kk/allocator find their addons through `loadNativeModule`, which requires
 * `../build/Release/<name>.node` relative to itself: a path that does not exist inside an
 * executable. The plugin keeps each loader file and replaces that one export with a call into
 * native-addon.ts, which loads the addon from the executable's assets.
 */
function bundledNativeAddons(addons: Record<string, BundledAddon>): esbuild.Plugin {
  return {
    name: 'klient-bundled-native-addons',
    setup(build) {
      build.onResolve({ filter: /^klient:bundled-addons$/ }, () => ({
        path: bundledAddonsModule,
        namespace: 'klient',
      }));
      build.onLoad({ filter: /.*/, namespace: 'klient' }, () => ({
        contents: [
          `const { loadBundledAddon } = require(${JSON.stringify(loaderFile)});`,
          `const addons = ${JSON.stringify(addons)};`,
          'exports.loadNativeModule = (name) => loadBundledAddon(name, addons);',
        ].join('\n'),
        resolveDir: here,
        loader: 'js',
      }));
      build.onLoad({ filter: nativeLoaderFiles }, async (args) => {
        const original = await readFile(args.path, 'utf8');
        const override = `\nexports.loadNativeModule = require(${JSON.stringify(bundledAddonsModule)}).loadNativeModule;\n`;
        return { contents: original + override, loader: 'js' };
      });
    },
  };
}

/**
 * Optional native speed-ups that `ws` tries inside try/catch; without them it uses its JavaScript
 * paths. Left external, the executable's built-in-only `require` would print a warning at every
 * start, so they become modules that fail the way a missing module does.
 */
function absentOptionalModules(names: string[]): esbuild.Plugin {
  const filter = new RegExp(`^(${names.join('|')})$`);
  return {
    name: 'klient-absent-optional-modules',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'klient-absent' }));
      build.onLoad({ filter: /.*/, namespace: 'klient-absent' }, (args) => ({
        contents: `const e = new Error(${JSON.stringify(`Cannot find module '${args.path}' (not bundled)`)}); e.code = 'MODULE_NOT_FOUND'; throw e;`,
        loader: 'js',
      }));
    },
  };
}

async function describeAddons(
  sources: AddonSource[],
): Promise<{ addons: Record<string, BundledAddon>; assets: Record<string, string> }> {
  const addons: Record<string, BundledAddon> = {};
  const assets: Record<string, string> = {};
  for (const { name, file } of sources) {
    const bytes = await readFile(file);
    const asset = `native/${name}.node`;
    addons[name] = { asset, sha256: createHash('sha256').update(bytes).digest('hex') };
    assets[asset] = file;
  }
  return { addons, assets };
}

/**
 * Writes `outfile` (CommonJS, Node 20) from `entry`. `import.meta.url` has no meaning in
 * CommonJS, so it is defined from `__filename` (the executable's own path inside a SEA).
 */
export async function bundleKlient(
  entry: string,
  outfile: string,
  sources: AddonSource[],
): Promise<BundleResult> {
  const { addons, assets } = await describeAddons(sources);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    banner: { js: "const __kk_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
    define: {
      'import.meta.url': '__kk_import_meta_url',
      'import.meta.filename': '__filename',
      'import.meta.dirname': '__dirname',
    },
    plugins: [bundledNativeAddons(addons), absentOptionalModules(['bufferutil', 'utf-8-validate'])],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !/^klient(-absent)?:/.test(p))
    .map((p) => resolve(p));
  return { inputs: [...inputs, ...sources.map((s) => s.file)], assets };
}
