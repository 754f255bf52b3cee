import type { Command } from 'commander';
import { clearLogin, saveLogin } from '../config/store.js';
import { CliError, cliErrors, ExitCode } from '../errors.js';
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
  if (process.stdin.isTTY) return readHidden('API token: ');
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  return text.split('\n')[0] ?? '';
}

/** Reads one line from the terminal without echoing it (the token is a password). */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the prompt shows, so nothing typed (or pasted) after it is echoed.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\x03') return finish(new CliError(ExitCode.Interrupted, 'interrupted'));
        if (ch === '\x7f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
