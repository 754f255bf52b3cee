/**
 * The web UI as static files: one JavaScript bundle (esbuild, browser ESM, minified) of
 * src/app/main.ts with @xterm/xterm inside, one stylesheet (ours + xterm's), and index.html.
 * Built once per process on first use and kept in memory; every file is small.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface WebAsset {
  contentType: string;
  body: Buffer;
  /** Strong validator for conditional GETs. */
  etag: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..', 'app');
const require = createRequire(import.meta.url);

const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kloud</title>
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`;

let built: Promise<Map<string, WebAsset>> | undefined;

/** Every file of the UI by URL path (`/`, `/ui/app.js`, `/ui/app.css`). Built once, then cached. */
export function webAssets(): Promise<Map<string, WebAsset>> {
  built ??= buildAssets().catch((error) => {
    built = undefined;
    throw error;
  });
  return built;
}

async function buildAssets(): Promise<Map<string, WebAsset>> {
  const result = await build({
    entryPoints: [join(appDir, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = Buffer.from(result.outputFiles[0]!.contents);
  const xtermCss = await readFile(require.resolve('@xterm/xterm/css/xterm.css'));
  const ownCss = await readFile(join(appDir, 'styles.css'));
  const css = Buffer.concat([xtermCss, Buffer.from('\n'), ownCss]);
  const asset = (contentType: string, body: Buffer): WebAsset => ({
    contentType,
    body,
    etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
  });
  return new Map([
    ['/', asset('text/html; charset=utf-8', Buffer.from(indexHtml))],
    ['/ui/app.js', asset('text/javascript; charset=utf-8', js)],
    ['/ui/app.css', asset('text/css; charset=utf-8', css)],
  ]);
}
