import type { Command } from 'commander';
import { requireLogin } from '../config/store.js';
import { cliErrors } from '../errors.js';
import { KloudApi } from '../kloud/api.js';
import { listAll } from '../kloud/pages.js';
import { userIdByName } from '../kloud/users.js';
import { printJson, printTable } from '../output/print.js';
import { parseEnvPairs } from './parse.js';

interface Credential {
  id: string;
  provider: string;
  title: string;
  data: Record<string, string>;
  access: string;
}

export function registerCredential(program: Command): void {
  const credential = program
    .command('credential')
    .description('Cloud provider credentials (secrets sealed by Kloud).');

  credential
    .command('add')
    .description(
      'Store a credential. Secret values come as KEY=VALUE arguments, or one per line on stdin (kept out of shell history).',
    )
    .requiredOption('--provider <name>', 'aws, digitalocean, …')
    .requiredOption('--title <title>', 'a name to recognise it by')
    .argument('[values...]', 'KEY=VALUE secret values')
    .option('--json', 'print the stored credential (masked) as JSON')
    .action(async (values: string[], opts: { provider: string; title: string; json?: boolean }) => {
      let pairs = values;
      if (pairs.length === 0 && !process.stdin.isTTY) {
        let text = '';
        process.stdin.setEncoding('utf8');
        for await (const chunk of process.stdin) text += chunk;
        pairs = text
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
      }
      const data = parseEnvPairs(pairs);
      if (!data) throw cliErrors.usage('give the secret as KEY=VALUE arguments or lines on stdin');
      const api = new KloudApi(await requireLogin());
      const created = await api.post<Credential>('/api/v1/credentials', {
        provider: opts.provider,
        title: opts.title,
        data,
      });
      if (opts.json) printJson(created);
      else process.stdout.write(`${created.id}\n`);
    });

  credential
    .command('list')
    .description('Credentials you own or that are shared with you (secrets masked).')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const credentials = await listAll<Credential>(api, '/api/v1/credentials');
      if (opts.json) return printJson(credentials);
      printTable(
        ['ID', 'PROVIDER', 'TITLE', 'ACCESS'],
        credentials.map((c) => [c.id, c.provider, c.title, c.access]),
      );
    });

  credential
    .command('share')
    .description('Let another user build with a credential (they never see its secret).')
    .argument('<id>', 'credential id')
    .argument('<user>', 'username')
    .option('--level <level>', 'user (use it) or owner (also manage it)', 'user')
    .action(async (id: string, user: string, opts: { level: string }) => {
      if (opts.level !== 'user' && opts.level !== 'owner') throw cliErrors.usage('--level: user or owner');
      const api = new KloudApi(await requireLogin());
      const targetId = await userIdByName(api, user);
      await api.put(`/api/v1/credentials/${encodeURIComponent(id)}/shares`, {
        targetType: 'user',
        targetId,
        level: opts.level,
      });
      process.stderr.write(`Shared ${id} with ${user} (${opts.level})\n`);
    });
}
