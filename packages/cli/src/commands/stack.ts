/**
 * `kd stack plan|apply|destroy FILE`: a stack is named after its template file (or --name). The
 * first apply stores the file as a template and makes a stack of it; later ones update the
 * template (with If-Match, so a concurrent edit is refused, not lost) and apply the difference.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { requireLogin } from '../config/store.js';
import { CliError, cliErrors, ExitCode } from '../errors.js';
import { KloudApi } from '../kloud/api.js';
import { followJob } from '../kloud/follow.js';
import { listAll } from '../kloud/pages.js';
import { printJson, printTable } from '../output/print.js';

interface Stack {
  id: string;
  title: string;
  templateId: string | null;
}

interface PlanAction {
  machine: string;
  action: string;
  reason: string;
  dependsOn: string[];
}

interface StackOptions {
  name?: string;
  var: string[];
  json?: boolean;
  wait: boolean;
}

export function registerStack(program: Command): void {
  const stack = program
    .command('stack')
    .description('Stacks: machines declared in a template file, applied in dependency order.');
  const withCommon = (cmd: Command) =>
    cmd
      .argument('<file>', 'template file (YAML or JSON)')
      .option('--name <name>', 'stack name (default: the file name without extension)')
      .option(
        '--var <KEY=VALUE>',
        'template variable (repeatable)',
        (v: string, all: string[]) => [...all, v],
        [] as string[],
      );

  withCommon(stack.command('plan').description('Show what apply would change, without changing anything.'))
    .option('--json', 'print JSON')
    .action(async (file: string, opts: StackOptions) => {
      const api = new KloudApi(await requireLogin());
      const found = await syncStack(api, file, opts.name);
      const plan = await api.post<{ actions: PlanAction[]; empty: boolean; blocked: boolean }>(
        `/api/v1/stacks/${found.id}/plan`,
        {
          variables: variables(opts.var),
        },
      );
      if (opts.json) return printJson(plan);
      printActions(plan.actions);
      if (plan.blocked) throw cliErrors.conflict('the plan is blocked: see the reasons above');
    });

  withCommon(
    stack
      .command('apply')
      .description('Create, update or destroy machines to match the template; follows the progress.'),
  )
    .option('--no-wait', 'return once Kloud accepted the apply (prints the event id)')
    .action(async (file: string, opts: StackOptions) => {
      const api = new KloudApi(await requireLogin());
      const found = await syncStack(api, file, opts.name);
      const applied = await api.post<{ eventId: string; actions: PlanAction[] }>(
        `/api/v1/stacks/${found.id}/apply`,
        {
          variables: variables(opts.var),
        },
      );
      if (!opts.wait) {
        process.stdout.write(`${applied.eventId}\n`);
        return;
      }
      const last = await followJob(api, applied.eventId);
      if (last.status === 'failed')
        throw new CliError(ExitCode.Failure, `apply failed: ${last.error ?? last.message}`);
    });

  stack
    .command('destroy')
    .description('Destroy every machine of the stack, dependents first; follows the progress.')
    .argument('<file>', 'the template file the stack was applied from (names the stack)')
    .option('--name <name>', 'stack name (default: the file name without extension)')
    .option('--no-wait', 'return once Kloud accepted (prints the event id)')
    .action(async (file: string, opts: { name?: string; wait: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const name = opts.name ?? stackName(file);
      const found = (await listAll<Stack>(api, '/api/v1/stacks')).find((s) => s.title === name);
      if (!found) throw cliErrors.notFound(`no stack named ${name}: see kd stack list`);
      const accepted = await api.post<{ eventId: string }>(`/api/v1/stacks/${found.id}/destroy`);
      if (!opts.wait) {
        process.stdout.write(`${accepted.eventId}\n`);
        return;
      }
      const last = await followJob(api, accepted.eventId);
      if (last.status === 'failed')
        throw new CliError(ExitCode.Failure, `destroy failed: ${last.error ?? last.message}`);
    });

  stack
    .command('list')
    .description('Your stacks.')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const stacks = await listAll<Stack>(api, '/api/v1/stacks');
      if (opts.json) return printJson(stacks);
      printTable(
        ['ID', 'NAME', 'TEMPLATE'],
        stacks.map((s) => [s.id, s.title, s.templateId ?? '-']),
      );
    });
}

function stackName(file: string): string {
  return basename(file, extname(file));
}

function variables(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw cliErrors.usage(`--var ${pair}: give KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The stack named after the file, its template brought up to the file's content. */
async function syncStack(api: KloudApi, file: string, name = stackName(file)): Promise<Stack> {
  const content = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw cliErrors.usage(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  const existing = (await listAll<Stack>(api, '/api/v1/stacks')).find((s) => s.title === name);
  if (existing?.templateId) {
    const current = await api.request<{ content: string }>(
      'GET',
      `/api/v1/stack-templates/${existing.templateId}`,
    );
    if (current.body.content !== content)
      await api.request('PATCH', `/api/v1/stack-templates/${existing.templateId}`, {
        body: { content },
        headers: { 'if-match': current.etag ?? '*' },
      });
    return existing;
  }
  const template = await api.post<{ id: string }>('/api/v1/stack-templates', { title: name, content });
  if (existing) throw cliErrors.conflict(`stack ${name} has no template; give another --name`);
  return api.post<Stack>('/api/v1/stacks', { title: name, templateId: template.id });
}

function printActions(actions: PlanAction[]): void {
  printTable(
    ['MACHINE', 'ACTION', 'REASON', 'AFTER'],
    actions.map((a) => [a.machine, a.action, a.reason, a.dependsOn.join(', ') || '-']),
    'Nothing to do.',
  );
}
