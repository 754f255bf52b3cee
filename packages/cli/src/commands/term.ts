import type { Command } from 'commander';
import { cliErrors } from '../errors.js';
import { shellExitCode } from '../exec/exit-status.js';
import { connectMachine } from '../machine/connect.js';
import { resolveTarget } from '../machine/target.js';
import { printJson, printTable } from '../output/print.js';
import { attachInteractive } from '../term/attach.js';

interface TermOptions {
  token?: string;
  session?: string;
  name?: string;
  list?: boolean;
  json?: boolean;
  readonly?: boolean;
  kill?: string;
}

export function registerTerm(program: Command): void {
  program
    .command('term')
    .description(
      'Open an interactive terminal on a machine. Sessions outlive the connection: detach with Ctrl-] d, ' +
        'come back with --session ID (or its name). kd exits with the shell’s exit code when it ends.',
    )
    .argument('<machine>', 'machine id or label, or ws://HOST:PORT of a Klient')
    .option('--token <token>', 'access token, for a direct Klient URL')
    .option('-s, --session <id>', 'attach to this existing session (id or name) instead of starting one')
    .option('--name <name>', 'name a new session, to find it again with --session')
    .option('--readonly', 'watch without typing (the session is not resized either)')
    .option('-l, --list', 'list the sessions on the machine instead')
    .option('--kill <id>', 'end a session (SIGHUP to its shell)')
    .option('--json', 'with --list: print JSON')
    .action(async (machine: string, opts: TermOptions) => {
      // A read-only view asks Kloud for a read-only token: no more power than it uses.
      const client = await connectMachine(
        await resolveTarget(machine, { token: opts.token, scope: opts.readonly ? 'readonly' : undefined }),
      );
      try {
        if (opts.list) {
          const { sessions } = await client.call('terminal.list', {});
          if (opts.json) return printJson(sessions);
          return printTable(
            ['ID', 'NAME', 'SIZE', 'VIEWERS', 'OWNER', 'STARTED'],
            sessions.map((s) => [
              s.id,
              s.name,
              `${s.cols}x${s.rows}`,
              String(s.viewers),
              s.owner,
              new Date(s.createdAt).toISOString().slice(0, 19).replace('T', ' '),
            ]),
          );
        }
        if (opts.kill) {
          const id = await findSession(client, opts.kill);
          await client.call('terminal.kill', { sessionId: id });
          return;
        }
        if (!process.stdin.isTTY && !opts.readonly)
          throw cliErrors.usage('kd term needs a terminal on stdin; use kd exec for scripts');
        let sessionId: string;
        if (opts.session) sessionId = await findSession(client, opts.session);
        else {
          const created = await client.call('terminal.create', {
            cols: Math.max(2, process.stdout.columns ?? 80),
            rows: Math.max(1, process.stdout.rows ?? 24),
            name: opts.name,
          });
          sessionId = created.id;
        }
        const end = await attachInteractive(
          client,
          sessionId,
          { input: process.stdin, output: process.stdout },
          Boolean(opts.readonly),
        );
        if (end.reason === 'detached')
          process.stderr.write(
            `\r\n[detached from ${sessionId}; reattach: kd term ${machine} --session ${sessionId}]\r\n`,
          );
        else if (end.reason === 'shutdown') process.stderr.write('\r\n[the machine’s Klient shut down]\r\n');
        else process.exitCode = shellExitCode(end);
      } finally {
        client.close();
      }
    });
}

async function findSession(
  client: import('@kk/protocol/client/client.js').RpcClient,
  ref: string,
): Promise<string> {
  const { sessions } = await client.call('terminal.list', {});
  const byId = sessions.find((s) => s.id === ref);
  if (byId) return byId.id;
  const byName = sessions.filter((s) => s.name === ref);
  if (byName.length === 1) return byName[0]!.id;
  if (byName.length > 1)
    throw cliErrors.usage(`${byName.length} sessions are named ${ref}: use an id (kd term --list)`);
  throw cliErrors.notFound(`no terminal session ${ref} on the machine: see kd term MACHINE --list`);
}
