import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { clearLogin, saveLogin } from '../config/store.js';
import { cliErrors } from '../errors.js';
import { KloudApi } from '../kloud/api.js';

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description(
      'Log in to a Kloud with an API token: checked with Kloud, then kept in $XDG_CONFIG_HOME/kd/config.json (mode 0600). ' +
        'The token comes from --token, else from stdin (prompted on a terminal).',
    )
    .argument('<url>', 'Kloud’s URL, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'the API token (visible in your shell history: prefer stdin)')
    .action(async (url: string, opts: { token?: string }) => {
      let base: URL;
      try {
        base = new URL(url);
      } catch {
        throw cliErrors.usage(`${url} is not a URL: give Kloud's address, e.g. http://127.0.0.1:8080`);
      }
      if (base.protocol !== 'http:' && base.protocol !== 'https:')
        throw cliErrors.usage(`${url}: Kloud's URL starts with http:// or https://`);
      const token = (opts.token ?? (await readToken())).trim();
      if (!token) throw cliErrors.usage('no token given: pass --token or type it on stdin');
      const login = { url: base.origin + base.pathname.replace(/\/+$/, ''), token };
      const me = await new KloudApi(login).get<{ username: string }>('/api/v1/users/me');
      const file = await saveLogin(login);
      process.stderr.write(`Logged in to ${login.url} as ${me.username} (saved in ${file})\n`);
    });

  program
    .command('logout')
    .description('Forget the saved Kloud login.')
    .action(async () => {
      const removed = await clearLogin();
      process.stderr.write(removed ? 'Logged out.\n' : 'Not logged in.\n');
    });
}

async function readToken(): Promise<string> {
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // Hide what is typed: the token is a password.
    const out = rl as unknown as { _writeToOutput?: (s: string) => void };
    process.stderr.write('API token: ');
    out._writeToOutput = () => {};
    try {
      return await rl.question('');
    } finally {
      process.stderr.write('\n');
      rl.close();
    }
  }
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  return text.split('\n')[0] ?? '';
}
