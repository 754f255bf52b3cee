/**
 * The terminal tabs of one machine. Which sessions were open is remembered per machine in
 * localStorage, so after a reload the same tabs come back attached to the same sessions (with
 * their screens). Closing a tab detaches; "End session" kills it. Other sessions on the machine
 * (another browser's, a `kd term`'s, or a shared machine's) can be opened from the list.
 */
import type { RpcClient } from '@kk/protocol';
import { clear, h, notice } from '../dom.js';
import { TerminalView } from './terminal-view.js';

interface SessionInfo {
  id: string;
  name: string;
}

export class TerminalTabs {
  readonly element: HTMLElement;
  private readonly tabBar: HTMLElement;
  private readonly panels: HTMLElement;
  private readonly status: HTMLElement;
  private readonly picker: HTMLSelectElement;
  private readonly views = new Map<
    string,
    { view: TerminalView; tab: HTMLButtonElement; panel: HTMLElement }
  >();
  private active: string | undefined;

  constructor(
    private readonly client: RpcClient,
    private readonly machineId: string,
    private readonly readOnly: boolean,
  ) {
    this.tabBar = h('div', { class: 'tabs', attrs: { role: 'tablist', 'aria-label': 'Terminal sessions' } });
    this.picker = h('select', { attrs: { 'aria-label': 'Open an existing session' } });
    this.picker.onchange = () => {
      if (this.picker.value)
        void this.open(this.picker.value, this.picker.selectedOptions[0]!.textContent ?? '');
      this.picker.value = '';
    };
    const newButton = h('button', { type: 'button', onclick: () => void this.create() }, '+ New terminal');
    const killButton = h(
      'button',
      { type: 'button', class: 'danger', onclick: () => void this.killActive() },
      'End session',
    );
    this.status = h('div', { class: 'term-status' });
    this.panels = h('div', { class: 'term-panels' });
    this.element = h(
      'section',
      { class: 'terminals' },
      h(
        'div',
        { class: 'toolbar' },
        this.tabBar,
        readOnly ? null : newButton,
        this.picker,
        readOnly ? null : killButton,
      ),
      this.status,
      this.panels,
    );
    client.onConnect(() => {
      for (const { view } of this.views.values()) void view.attach().catch((e) => this.say(e));
      void this.refreshPicker();
    });
  }

  /**
   * Reopens the remembered sessions that still exist, or starts one. The first one reopened is
   * shown; the others come back behind it, so a tab the user picks meanwhile stays picked.
   */
  async start(): Promise<void> {
    const sessions = await this.list();
    const alive = new Set(sessions.map((s) => s.id));
    const remembered = this.remembered().filter((id) => alive.has(id));
    this.remember(remembered);
    for (const id of remembered)
      await this.open(id, sessions.find((s) => s.id === id)!.name, { show: false });
    if (this.views.size === 0 && !this.readOnly) await this.create();
    if (this.views.size === 0 && this.readOnly && sessions[0])
      await this.open(sessions[0].id, sessions[0].name);
    await this.refreshPicker(sessions);
  }

  dispose(): void {
    for (const { view } of this.views.values()) view.dispose();
    this.views.clear();
  }

  async create(): Promise<void> {
    try {
      const session = await this.client.call('terminal.create', { cols: 80, rows: 24 });
      await this.open(session.id, session.name);
      await this.refreshPicker();
    } catch (e) {
      this.say(e);
    }
  }

  /** Opens a tab on the session and, unless told not to while another tab is shown, shows it. */
  async open(sessionId: string, name: string, { show = true } = {}): Promise<void> {
    if (this.views.has(sessionId)) return this.select(sessionId);
    const panel = h('div', { class: 'term-panel', attrs: { role: 'tabpanel' } });
    this.panels.appendChild(panel);
    const tab = h(
      'button',
      { type: 'button', class: 'tab', attrs: { role: 'tab' }, onclick: () => this.select(sessionId) },
      name || sessionId.slice(0, 8),
    );
    const close = h(
      'span',
      {
        class: 'tab-close',
        title: 'Close (the session keeps running)',
        attrs: { role: 'button', 'aria-label': `Close ${name}` },
      },
      '×',
    );
    close.onclick = (e) => {
      e.stopPropagation();
      this.closeView(sessionId);
    };
    tab.appendChild(close);
    this.tabBar.appendChild(tab);
    const view = new TerminalView(this.client, sessionId, panel, this.readOnly);
    view.onEnd = (end) => {
      if (end.reason === 'exit') {
        view.term.write(
          `\r\n[session ended${end.exitCode === null ? '' : ` with exit code ${end.exitCode}`}]\r\n`,
        );
        tab.classList.add('ended');
        this.forget(sessionId);
      }
    };
    this.views.set(sessionId, { view, tab, panel });
    if (!this.readOnly) this.remember([...new Set([...this.remembered(), sessionId])]);
    if (show || this.active === undefined) this.select(sessionId);
    else {
      panel.hidden = true;
      tab.setAttribute('aria-selected', 'false');
    }
    try {
      await view.attach();
    } catch (e) {
      this.say(e);
    }
  }

  private select(sessionId: string): void {
    this.active = sessionId;
    for (const [id, { tab, panel, view }] of this.views) {
      const on = id === sessionId;
      tab.setAttribute('aria-selected', String(on));
      panel.hidden = !on;
      if (on) {
        view.refit();
        view.focus();
      }
    }
  }

  private closeView(sessionId: string): void {
    const entry = this.views.get(sessionId);
    if (!entry) return;
    entry.view.dispose();
    entry.tab.remove();
    entry.panel.remove();
    this.views.delete(sessionId);
    this.forget(sessionId);
    const next = [...this.views.keys()][0];
    if (next) this.select(next);
  }

  private async killActive(): Promise<void> {
    if (!this.active) return;
    const id = this.active;
    try {
      await this.client.call('terminal.kill', { sessionId: id });
    } catch (e) {
      this.say(e);
    }
  }

  private async list(): Promise<SessionInfo[]> {
    return (await this.client.call('terminal.list', {})).sessions;
  }

  private async refreshPicker(known?: SessionInfo[]): Promise<void> {
    const sessions = known ?? (await this.list().catch(() => []));
    clear(this.picker);
    this.picker.appendChild(h('option', { value: '' }, `Sessions on the machine (${sessions.length})…`));
    for (const s of sessions) this.picker.appendChild(h('option', { value: s.id }, s.name || s.id));
  }

  private say(error: unknown): void {
    clear(this.status);
    this.status.appendChild(notice((error as Error).message ?? String(error), 'error'));
  }

  private key(): string {
    return `kk.terms.${this.machineId}`;
  }

  private remembered(): string[] {
    try {
      const value = JSON.parse(localStorage.getItem(this.key()) ?? '[]') as unknown;
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    } catch {
      return [];
    }
  }

  private remember(ids: string[]): void {
    localStorage.setItem(this.key(), JSON.stringify(ids));
  }

  private forget(sessionId: string): void {
    this.remember(this.remembered().filter((id) => id !== sessionId));
  }
}
