/**
 * The machines page: every machine the user owns or has been shared, with its state kept live
 * by Kloud's events (a bar shows build/start/stop progress), the calls its state allows, and a
 * form to create a machine — on its own (then built) or as a stack from a template (then applied).
 */
import { h, statusLine } from '../dom.js';
import { allowedCalls, inProgress, type Machine, type MachineInfo, type Template } from '../kloud/types.js';
import { latestOnly } from '../latest-only.js';
import type { Session } from '../session.js';
import { progressView, stateBadge } from './progress.js';

export function machinesPage(session: Session): { element: HTMLElement; dispose(): void } {
  const list = h('tbody');
  const { element: status, say } = statusLine();
  const unsubscribes: Array<() => void> = [];
  // Set when the user leaves the page: a list still on its way must not subscribe its rows then.
  let disposed = false;

  const row = (machine: Machine) => {
    const state = h('td');
    const actions = h('td', { class: 'actions' });
    const progress = progressView();
    let current = machine.status.state;
    const render = (info: { state: Machine['status']['state']; online?: boolean; reason?: string }) => {
      current = info.state;
      state.replaceChildren(
        stateBadge(info.state),
        info.online ? h('span', { class: 'online', title: 'Klient online' }, ' ●') : '',
      );
      if (info.reason && info.state !== 'Running') state.title = info.reason;
      actions.replaceChildren();
      const canUse = machine.access !== 'readonly';
      if (info.state === 'Running')
        actions.appendChild(h('a', { href: `#/machines/${machine.id}`, class: 'button primary' }, 'Open'));
      if (canUse && machine.access === 'owner')
        for (const action of allowedCalls[info.state]) {
          actions.appendChild(
            h(
              'button',
              {
                type: 'button',
                class: action === 'destroy' ? 'danger' : '',
                onclick: () => void call(action),
              },
              action[0]!.toUpperCase() + action.slice(1),
            ),
          );
        }
      if (!inProgress.has(info.state)) progress.element.classList.add('settled');
      else progress.element.classList.remove('settled');
    };
    const call = async (action: string) => {
      if (action === 'destroy' && !confirm(`Destroy ${machine.label}? Its instance and data are deleted.`))
        return;
      try {
        await session.api.post(`/api/v1/machines/${machine.id}/${action}`);
      } catch (e) {
        say(`${machine.label}: ${(e as Error).message}`);
      }
    };
    // One at a time, so an older answer never lands after a newer one and leaves a stale state.
    const refresh = latestOnly(async () => {
      const info = await session.api
        .get<MachineInfo>(`/api/v1/machines/${machine.id}/state`)
        .catch(() => undefined);
      if (info) render({ state: info.state, online: info.online, reason: info.stateReason });
    });
    render({ state: machine.status.state, online: machine.registry.online, reason: machine.status.reason });
    unsubscribes.push(
      session.events.subscribe({ machineId: machine.id }, (event) => {
        progress.update(event);
        if (event.status !== current) void refresh();
      }),
    );
    return h(
      'tr',
      { dataset: { machine: machine.id } },
      h(
        'td',
        null,
        h('strong', null, machine.label),
        h('div', { class: 'muted' }, machine.provider),
        progress.element,
      ),
      state,
      h('td', { class: 'muted' }, machine.access),
      actions,
    );
  };

  const load = async () => {
    try {
      const machines = await session.api.list<Machine>('/api/v1/machines');
      if (disposed) return;
      for (const u of unsubscribes.splice(0)) u();
      list.replaceChildren(...machines.map(row));
      if (machines.length === 0)
        list.appendChild(
          h('tr', null, h('td', { colSpan: 4, class: 'muted' }, 'No machines yet: create one below.')),
        );
    } catch (e) {
      say((e as Error).message);
    }
  };

  const element = h(
    'main',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Machines'),
      h('button', { type: 'button', onclick: () => void load() }, 'Refresh'),
    ),
    status,
    h(
      'table',
      { class: 'machines' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, 'Machine'),
          h('th', null, 'State'),
          h('th', null, 'Access'),
          h('th', null, 'Actions'),
        ),
      ),
      list,
    ),
    newMachineForm(session, say, load),
    fromTemplateForm(session, say, load),
  );
  void load();
  return {
    element,
    dispose: () => {
      disposed = true;
      for (const u of unsubscribes) u();
    },
  };
}

function newMachineForm(
  session: Session,
  say: (t: string, k?: 'error' | 'ok') => void,
  reload: () => Promise<void>,
): HTMLElement {
  const label = h('input', { id: 'new-label', required: true, placeholder: 'dev-1', maxLength: 200 });
  const provider = h(
    'select',
    { id: 'new-provider' },
    h('option', { value: 'local' }, 'local (this host)'),
    h('option', { value: 'aws' }, 'aws'),
    h('option', { value: 'digitalocean' }, 'digitalocean'),
  );
  const form = h(
    'form',
    { class: 'card inline-form' },
    h('h2', null, 'New machine'),
    h('label', { htmlFor: 'new-label' }, 'Label'),
    label,
    h('label', { htmlFor: 'new-provider' }, 'Provider'),
    provider,
    h('button', { type: 'submit', class: 'primary' }, 'Create and build'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      const machine = await session.api.post<Machine>('/api/v1/machines', {
        provider: provider.value,
        label: label.value.trim(),
      });
      await session.api.post(`/api/v1/machines/${machine.id}/build`);
      say(`Building ${machine.label}…`, 'ok');
      label.value = '';
      await reload();
    } catch (err) {
      say((err as Error).message);
    }
  };
  return form;
}

function fromTemplateForm(
  session: Session,
  say: (t: string, k?: 'error' | 'ok') => void,
  reload: () => Promise<void>,
): HTMLElement {
  const select = h('select', { id: 'tpl-select' });
  const title = h('input', { id: 'tpl-title', required: true, placeholder: 'my stack' });
  const progress = progressView();
  const form = h(
    'form',
    { class: 'card inline-form' },
    h('h2', null, 'Build from a template'),
    h('label', { htmlFor: 'tpl-select' }, 'Template'),
    select,
    h('label', { htmlFor: 'tpl-title' }, 'Stack name'),
    title,
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    progress.element,
  );
  void session.api.list<Template>('/api/v1/stack-templates').then(
    (templates) => {
      select.replaceChildren(...templates.map((t) => h('option', { value: t.id }, t.title)));
      if (templates.length === 0)
        select.appendChild(h('option', { value: '' }, '(no templates: add one on the Templates page)'));
    },
    () => {},
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (!select.value) return say('Choose a template first');
    try {
      const stack = await session.api.post<{ id: string }>('/api/v1/stacks', {
        title: title.value.trim(),
        templateId: select.value,
      });
      const applied = await session.api.post<{ eventId: string }>(`/api/v1/stacks/${stack.id}/apply`, {});
      const stop = session.events.subscribe({ eventId: applied.eventId }, (event) => {
        progress.update(event);
        if (event.status === 'done' || event.status === 'failed') {
          stop();
          void reload();
        }
      });
      await reload();
    } catch (err) {
      say((err as Error).message);
    }
  };
  return form;
}
