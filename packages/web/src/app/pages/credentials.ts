/**
 * Credentials for cloud providers: list (secrets masked by Kloud), add, and share with a user.
 * The secret is sent once and never shown again here.
 */
import { h, statusLine } from '../dom.js';
import type { Credential, User } from '../kloud/types.js';
import type { Session } from '../session.js';

export function credentialsPage(session: Session): HTMLElement {
  const list = h('ul', { class: 'plain-list' });
  const { element: status, say } = statusLine();
  const load = async () => {
    try {
      const credentials = await session.api.list<Credential>('/api/v1/credentials');
      list.replaceChildren(...credentials.map(item));
      if (credentials.length === 0) list.appendChild(h('li', { class: 'muted' }, 'No credentials yet.'));
    } catch (e) {
      say((e as Error).message);
    }
  };
  const item = (c: Credential) => {
    const share = h('button', { type: 'button' }, 'Share…');
    share.onclick = async () => {
      const name = prompt(`Share ${c.title} with which user?`);
      if (!name) return;
      try {
        const found = await session.api.get<{ items: User[] }>(
          `/api/v1/users?username=${encodeURIComponent(name.trim())}`,
        );
        if (!found.items[0]) return say(`No user named ${name}`);
        await session.api.put(`/api/v1/credentials/${c.id}/shares`, {
          targetType: 'user',
          targetId: found.items[0].id,
          level: 'user',
        });
        say(`Shared ${c.title} with ${name}`, 'ok');
      } catch (e) {
        say((e as Error).message);
      }
    };
    const masked = Object.entries(c.data)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return h(
      'li',
      null,
      h('strong', null, c.title),
      ` ${c.provider} `,
      h('span', { class: 'muted' }, masked),
      ' ',
      c.access === 'owner' ? share : '',
    );
  };
  const provider = h(
    'select',
    { id: 'cred-provider' },
    h('option', { value: 'aws' }, 'aws'),
    h('option', { value: 'digitalocean' }, 'digitalocean'),
    h('option', { value: 'local' }, 'local'),
  );
  const title = h('input', { id: 'cred-title', required: true });
  const data = h('textarea', {
    id: 'cred-data',
    rows: 4,
    spellcheck: false,
    placeholder: 'accessKeyId=AKIA…\nsecretAccessKey=…',
  });
  const form = h(
    'form',
    { class: 'card' },
    h('h2', null, 'Add a credential'),
    h('label', { htmlFor: 'cred-provider' }, 'Provider'),
    provider,
    h('label', { htmlFor: 'cred-title' }, 'Title'),
    title,
    h('label', { htmlFor: 'cred-data' }, 'Secret values, one KEY=VALUE a line'),
    data,
    h('button', { type: 'submit', class: 'primary' }, 'Add credential'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    const secret: Record<string, string> = {};
    for (const line of data.value.split('\n')) {
      if (!line.trim()) continue;
      const eq = line.indexOf('=');
      if (eq <= 0) return say(`Not KEY=VALUE: ${line.slice(0, 40)}`);
      secret[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    try {
      await session.api.post('/api/v1/credentials', {
        provider: provider.value,
        title: title.value.trim(),
        data: secret,
      });
      data.value = '';
      title.value = '';
      say('Credential added', 'ok');
      await load();
    } catch (err) {
      say((err as Error).message);
    }
  };
  void load();
  return h('main', { class: 'page' }, h('h1', null, 'Credentials'), status, list, form);
}
