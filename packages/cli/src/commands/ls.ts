import type { FsEntry } from '@kk/protocol/catalogue/fs.js';
import type { Command } from 'commander';
import { cliErrors } from '../errors.js';
import { connectMachine } from '../machine/connect.js';
import { resolveTarget } from '../machine/target.js';
import { formatBytes } from '../output/format.js';
import { printJson, printTable } from '../output/print.js';
import { parseRemote } from '../transfer/remote-path.js';

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('List a directory on a machine (MACHINE or MACHINE:PATH; default: home).')
    .argument('<target>', 'MACHINE or MACHINE:PATH')
    .option('--token <token>', 'access token, for a direct Klient URL')
    .option('-a, --all', 'include entries whose name starts with a dot')
    .option('--json', 'print JSON')
    .action(async (spec: string, opts: { token?: string; all?: boolean; json?: boolean }) => {
      const remote = parseRemote(spec) ?? { machine: spec, path: '' };
      if (!remote.machine) throw cliErrors.usage('name a machine: MACHINE or MACHINE:PATH');
      const client = await connectMachine(await resolveTarget(remote.machine, { token: opts.token }));
      try {
        const entries: FsEntry[] = [];
        let cursor: string | undefined;
        do {
          const page = await client.call('fs.readDirectory', { path: remote.path || '.', cursor });
          entries.push(...page.entries);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        const shown = opts.all ? entries : entries.filter((e) => !e.name.startsWith('.'));
        if (opts.json) return printJson(shown);
        printTable(
          ['MODE', 'SIZE', 'MODIFIED', 'NAME'],
          shown.map((e) => [
            modeString(e),
            e.type === 'directory' ? '-' : formatBytes(e.size),
            new Date(e.mtime).toISOString().slice(0, 16).replace('T', ' '),
            e.type === 'directory' ? `${e.name}/` : e.target ? `${e.name} -> ${e.target}` : e.name,
          ]),
          '(empty)',
        );
      } finally {
        client.close();
      }
    });
}

function modeString(e: FsEntry): string {
  const kind = { file: '-', directory: 'd', symlink: 'l', other: '?' }[e.type];
  let bits = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (e.mode >> shift) & 7;
    bits += `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
  }
  return kind + bits;
}
