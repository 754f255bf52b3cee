import type { Command } from 'commander';
import { requireLogin } from '../config/store.js';
import { KloudApi } from '../kloud/api.js';
import { userIdByName } from '../kloud/users.js';
import { findMachineId } from '../machine/target.js';

export function registerShare(program: Command): void {
  program
    .command('share')
    .description(
      'Share a machine with a user (terminal, files, exec), or read-only (watch terminals, read files).',
    )
    .argument('<machine>', 'id or label')
    .argument('<user>', 'username')
    .option('--readonly', 'read-only access')
    .option('--remove', 'take the access away (their open connections are closed)')
    .action(async (ref: string, user: string, opts: { readonly?: boolean; remove?: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const id = await findMachineId(api, ref);
      const userId = await userIdByName(api, user);
      const path = `/api/v1/machines/${id}/users/${userId}`;
      if (opts.remove) {
        await api.delete(path);
        process.stderr.write(`${ref} is no longer shared with ${user}\n`);
        return;
      }
      await api.put(path, { readonly: Boolean(opts.readonly), permanent: true });
      process.stderr.write(`Shared ${ref} with ${user}${opts.readonly ? ' (read-only)' : ''}\n`);
    });
}
