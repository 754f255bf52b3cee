/**
 * One machine: its state and calls, and — while it runs — its terminals and files through
 * Kloud's tunnel. A machine shared read-only opens read-only views (no typing, no writes).
 */
import { h, notice, statusLine } from '../dom.js';
import { FilesPanel } from '../files/files-panel.js';
import { connectMachine, type MachineConnection } from '../kloud/machine-connection.js';
import type { Machine, MachineInfo } from '../kloud/types.js';
import { latestOnly } from '../latest-only.js';
import type { Session } from '../session.js';
import { TerminalTabs } from '../terminal/terminal-tabs.js';
import { progressView, stateBadge } from './progress.js';
import { sharingPanel } from './sharing.js';

export function machinePage(
  session: Session,
  machineId: string,
  tab: string,
): { element: HTMLElement; dispose(): void } {
  const head = h('div', { class: 'page-head' }, h('h1', null, 'Machine'));
  const { element: status, say } = statusLine();
  const body = h('div', { class: 'machine-body' });
  const progress = progressView();
  const element = h('main', { class: 'page machine-page' }, head, progress.element, status, body);
  let connection: MachineConnection | undefined;
  let terminals: TerminalTabs | undefined;
  let lastState = '';
  // Set when the user leaves the page: a look still on its way must not connect or build then.
  let disposed = false;

  // One at a time: the stored events replayed on subscribing arrive while the first look is
  // still on its way, and two looks at once would each connect and each build the page.
  const show = latestOnly(async () => {
    if (disposed) return;
    try {
      const [machine, info] = await Promise.all([
        session.api.get<Machine>(`/api/v1/machines/${machineId}`),
        session.api.get<MachineInfo>(`/api/v1/machines/${machineId}/state`),
      ]);
      if (disposed) return;
      lastState = info.state;
      head.replaceChildren(
        h('h1', null, machine.label),
        stateBadge(info.state),
        info.access === 'readonly' ? h('span', { class: 'badge' }, 'read-only') : '',
      );
      if (info.state !== 'Running' || !info.online) {
        disconnect();
        body.replaceChildren(
          notice(
            info.state === 'Running'
              ? 'The machine’s Klient is not connected yet.'
              : `The machine is ${info.state}. Start it from the Machines page to use it.`,
            'info',
          ),
        );
        return;
      }
      if (connection) return;
      const opened = await connectMachine(session.api, machineId);
      if (disposed) return opened.close();
      connection = opened;
      const readOnly = connection.scope === 'readonly';
      const tabs: Array<[string, string]> = [
        ['terminal', 'Terminal'],
        ['files', 'Files'],
      ];
      if (machine.access === 'owner') tabs.push(['sharing', 'Sharing']);
      const nav = h(
        'nav',
        { class: 'tabs', attrs: { role: 'tablist' } },
        ...tabs.map(([id, label]) =>
          h(
            'a',
            {
              href: `#/machines/${machineId}/${id}`,
              class: 'tab',
              attrs: { role: 'tab', 'aria-selected': String(id === tab) },
            },
            label,
          ),
        ),
      );
      body.replaceChildren(nav);
      if (tab === 'files') {
        const files = new FilesPanel(connection.client, readOnly);
        body.appendChild(files.element);
        await files.start();
      } else if (tab === 'sharing' && machine.access === 'owner') {
        body.appendChild(sharingPanel(session, machine));
      } else {
        terminals = new TerminalTabs(connection.client, machineId, readOnly);
        body.appendChild(terminals.element);
        await terminals.start();
      }
    } catch (e) {
      say((e as Error).message);
    }
  });
  const disconnect = () => {
    terminals?.dispose();
    terminals = undefined;
    connection?.close();
    connection = undefined;
  };
  const unsubscribe = session.events.subscribe({ machineId }, (event) => {
    progress.update(event);
    if (event.status !== lastState) void show();
  });
  void show();
  return {
    element,
    dispose: () => {
      disposed = true;
      unsubscribe();
      disconnect();
    },
  };
}
