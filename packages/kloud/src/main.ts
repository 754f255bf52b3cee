/**
 * `kloud` command line: `kloud serve [flags]` (what `npm start` runs). Every flag also has a
 * KLOUD_* environment variable (config.ts). Exit codes: 0 ok, 1 runtime failure, 2 bad usage
 * or configuration.
 */
import { parseArgs } from 'node:util';
import { retainFreedMemory } from '@kk/allocator';
import { bootstrapAdmin } from '@kk/backend/bootstrap.js';
import { ConfigError, loadKloudConfig, settings } from './config.js';
import { KloudError } from './errors.js';
import { startKloud } from './kloud.js';

const usage = `usage: kloud serve [options]

options (each also from the environment):
${Object.values(settings)
  .map((s) => `  --${s.flag.padEnd(22)} ${s.env}${'default' in s ? ` (default ${s.default})` : ''}`)
  .join('\n')}
`;

function fail(message: string, code: number): never {
  process.stderr.write(`kloud: ${message}\n`);
  process.exit(code);
}

async function serve(args: string[]): Promise<void> {
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
  const config = loadKloudConfig(values);
  // The tunnel relays whole files through this process: freed buffers are reused, not faulted in
  // again. (Incremental marking stays on: Kloud's heap serves many users, and a full pause would stall them all.)
  retainFreedMemory();
  const kloud = await startKloud(config);
  const boot = await bootstrapAdmin(kloud.store);
  // One write, so a reader sees the URL and the token together. The token is shown once
  // (only its hash is stored): the operator keeps it.
  process.stdout.write(
    `Kloud is running at ${kloud.url}\n${boot ? `Admin user: ${boot.user.username}\nAdmin token: ${boot.token}\n` : ''}`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`kloud: ${signal}, shutting down (machines keep running)\n`);
    void kloud.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
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
  // Refusals that say what to do (another Kloud holds the data directory …), without a stack trace.
  if (err instanceof KloudError) fail(err.message, 1);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
