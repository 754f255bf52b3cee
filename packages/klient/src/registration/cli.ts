/**
 * The `klient run` command line: parses `klient serve`'s flags plus `--kite-key` and
 * `--kloud-url`, runs the agent, and shuts it down on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import type { StreamingMemory } from '@kk/allocator';
import { settings } from '../config.js';
import { runKlient, runSettings } from './run.js';

export async function runCommand(args: string[], memory: StreamingMemory): Promise<void> {
  const options = Object.fromEntries(
    [...Object.values(settings), ...Object.values(runSettings)].map((s) => [
      s.flag,
      { type: 'string' as const },
    ]),
  );
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  const agent = await runKlient(values as Record<string, string | undefined>, process.env, { memory });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`klient: ${signal}, shutting down\n`);
    void agent.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
