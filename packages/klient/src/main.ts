/**
 * `klient` command line: `klient serve [flags]`, `klient version`. Every flag also has a
 * KLIENT_* environment variable (config.ts). Exit codes: 0 ok, 1 runtime failure, 2 bad usage
 * or configuration.
 */
import { parseArgs } from 'node:util';
import { type StreamingMemory, tuneMemoryForStreaming } from '@kk/allocator';
import { ConfigError, loadConfig, settings } from './config.js';
import { runCommand } from './registration/cli.js';
import { startKlient } from './server.js';
import { VERSION } from './version.js';

const usage = `usage: klient serve [--listen HOST:PORT] (--jwks-url URL | --public-key FILE) --kite-id ID [options]
       klient run [--kite-key FILE] [--kloud-url URL] [serve options]   (register with Kloud)
       klient version

options (each also from the environment):
${Object.values(settings)
  .map((s) => `  --${s.flag.padEnd(26)} ${s.env}${'default' in s ? ` (default ${s.default})` : ''}`)
  .join('\n')}
`;

function fail(message: string, code: number): never {
  process.stderr.write(`klient: ${message}\n`);
  process.exit(code);
}

async function serve(args: string[], memory: StreamingMemory): Promise<void> {
  const options = Object.fromEntries(
    Object.values(settings).map((s) => [s.flag, { type: 'string' as const }]),
  );
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    return fail(`${(err as Error).message}\n${usage}`, 2);
  }
  const config = loadConfig(values);
  const klient = await startKlient(config, { memory });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`klient: ${signal}, shutting down\n`);
    void klient.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      // A Klient process moves files: set how it treats memory before the first stream.
      return serve(rest, tuneMemoryForStreaming());
    case 'run':
      return runCommand(rest, tuneMemoryForStreaming());
    case 'version':
    case '--version':
      process.stdout.write(`klient ${VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      return;
    default:
      fail(`unknown command "${command}"\n${usage}`, 2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError) fail(err.message, 2);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
