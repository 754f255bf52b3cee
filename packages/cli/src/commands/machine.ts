import type { Command } from 'commander';
import { requireLogin } from '../config/store.js';
import { CliError, ExitCode } from '../errors.js';
import { KloudApi } from '../kloud/api.js';
import { followJob } from '../kloud/follow.js';
import { listAll } from '../kloud/pages.js';
import { findMachineId } from '../machine/target.js';
import { printJson, printTable } from '../output/print.js';

interface MachineRecord {
  id: string;
  label: string;
  provider: string;
  status: { state: string; reason: string };
  registry: { online: boolean };
  access: string;
}

const actions = ['build', 'start', 'stop', 'restart', 'destroy'] as const;

export function registerMachine(program: Command): void {
  const machine = program.command('machine').description('Machines on the logged-in Kloud.');

  machine
    .command('list')
    .description('Machines you own or that are shared with you.')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const machines = await listAll<MachineRecord>(api, '/api/v1/machines');
      if (opts.json) return printJson(machines);
      printTable(
        ['ID', 'LABEL', 'PROVIDER', 'STATE', 'ONLINE', 'ACCESS'],
        machines.map((m) => [
          m.id,
          m.label,
          m.provider,
          m.status.state,
          m.registry.online ? 'yes' : 'no',
          m.access,
        ]),
        'No machines: create one with kd machine create LABEL',
      );
    });

  machine
    .command('info')
    .description('A machine’s state as Kloud knows it, and the calls its state allows now.')
    .argument('<machine>', 'id or label')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const id = await findMachineId(api, ref);
      const info = await api.get<Record<string, unknown>>(`/api/v1/machines/${id}/state`);
      if (opts.json) return printJson(info);
      for (const key of [
        'id',
        'label',
        'provider',
        'state',
        'stateReason',
        'allowed',
        'online',
        'ipAddress',
        'access',
      ])
        process.stdout.write(
          `${key.padEnd(12)} ${Array.isArray(info[key]) ? (info[key] as string[]).join(', ') || '(none)' : String(info[key] ?? '-')}\n`,
        );
    });

  machine
    .command('create')
    .description('Create a machine record (NotInitialized); build it with kd machine build.')
    .argument('<label>', 'a name for it')
    .option('--provider <name>', 'local, aws or digitalocean', 'local')
    .option('--credential <id>', 'credential for a cloud provider')
    .option('--build', 'build it at once and follow the progress')
    .option('--json', 'print the created machine as JSON')
    .action(
      async (
        label: string,
        opts: { provider: string; credential?: string; build?: boolean; json?: boolean },
      ) => {
        const api = new KloudApi(await requireLogin());
        const created = await api.post<MachineRecord>('/api/v1/machines', {
          label,
          provider: opts.provider,
          ...(opts.credential ? { credentialId: opts.credential } : {}),
        });
        if (opts.json) printJson(created);
        else process.stderr.write(`Created ${created.label} (${created.id})\n`);
        if (opts.build) await lifecycle(api, created.id, 'build', true);
      },
    );

  for (const action of actions) {
    machine
      .command(action)
      .description(
        `${action[0]!.toUpperCase()}${action.slice(1)} a machine and follow its progress (bar on a terminal, lines otherwise).`,
      )
      .argument('<machine>', 'id or label')
      .option('--no-wait', 'return once Kloud accepted the call (prints the event id)')
      .action(async (ref: string, opts: { wait: boolean }) => {
        const api = new KloudApi(await requireLogin());
        await lifecycle(api, await findMachineId(api, ref), action, opts.wait);
      });
  }
}

async function lifecycle(api: KloudApi, id: string, action: string, wait: boolean): Promise<void> {
  const accepted = await api.post<{ eventId: string }>(`/api/v1/machines/${id}/${action}`);
  if (!wait) {
    process.stdout.write(`${accepted.eventId}\n`);
    return;
  }
  const last = await followJob(api, accepted.eventId);
  if (last.status === 'failed')
    throw new CliError(ExitCode.Failure, `${action} failed: ${last.error ?? last.message}`);
}
