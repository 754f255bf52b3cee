import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { requireLogin } from '../config/store.js';
import { cliErrors } from '../errors.js';
import { KloudApi } from '../kloud/api.js';
import { listAll } from '../kloud/pages.js';
import { printJson, printTable } from '../output/print.js';

interface Template {
  id: string;
  title: string;
  accessLevel: string;
  content: string;
  sha1: string;
}

export function registerTemplate(program: Command): void {
  const template = program.command('template').description('Stack templates stored on Kloud.');

  template
    .command('list')
    .option('--json', 'print JSON')
    .description('Templates you may use.')
    .action(async (opts: { json?: boolean }) => {
      const api = new KloudApi(await requireLogin());
      const templates = await listAll<Template>(api, '/api/v1/stack-templates');
      if (opts.json) return printJson(templates);
      printTable(
        ['ID', 'TITLE', 'ACCESS', 'SHA1'],
        templates.map((t) => [t.id, t.title, t.accessLevel, t.sha1.slice(0, 12)]),
      );
    });

  template
    .command('show')
    .description('Print a template’s content.')
    .argument('<id>')
    .action(async (id: string) => {
      const api = new KloudApi(await requireLogin());
      process.stdout.write(
        (await api.get<Template>(`/api/v1/stack-templates/${encodeURIComponent(id)}`)).content,
      );
    });

  template
    .command('create')
    .description('Store a template file (YAML or JSON).')
    .argument('<file>')
    .option('--title <title>', 'default: the file name without extension')
    .option('--access <level>', 'private, group or public', 'private')
    .option('--json', 'print the created template as JSON')
    .action(async (file: string, opts: { title?: string; access: string; json?: boolean }) => {
      if (!['private', 'group', 'public'].includes(opts.access))
        throw cliErrors.usage('--access: private, group or public');
      const content = await readFile(file, 'utf8');
      const api = new KloudApi(await requireLogin());
      const created = await api.post<Template>('/api/v1/stack-templates', {
        title: opts.title ?? basename(file, extname(file)),
        content,
        accessLevel: opts.access,
      });
      if (opts.json) printJson(created);
      else process.stdout.write(`${created.id}\n`);
    });

  template
    .command('delete')
    .description('Delete a template (stacks made from it keep their machines).')
    .argument('<id>')
    .action(async (id: string) => {
      const api = new KloudApi(await requireLogin());
      const path = `/api/v1/stack-templates/${encodeURIComponent(id)}`;
      const current = await api.request('GET', path);
      await api.request('DELETE', path, { headers: { 'if-match': current.etag ?? '*' } });
    });
}
