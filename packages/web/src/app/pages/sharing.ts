/** Who else may use a machine: add a user by name (full or read-only), or take access away. */
import { h, statusLine } from '../dom.js';
import type { Machine, User } from '../kloud/types.js';
import type { Session } from '../session.js';

export function sharingPanel(session: Session, machine: Machine): HTMLElement {
  const list = h('ul', { class: 'plain-list' });
  const { element: status, say } = statusLine();
  const render = async (users: Machine['users']) => {
    list.replaceChildren();
    if (users.length === 0) list.appendChild(h('li', { class: 'muted' }, 'Not shared with anyone.'));
    for (const u of users) {
      const who = await session.api.get<User>(`/api/v1/users/${u.userId}`).catch(() => undefined);
      const remove = h('button', { type: 'button', class: 'danger' }, 'Remove');
      remove.onclick = async () => {
        try {
          await session.api.delete(`/api/v1/machines/${machine.id}/users/${u.userId}`);
          const fresh = await session.api.get<Machine>(`/api/v1/machines/${machine.id}`);
          await render(fresh.users);
        } catch (e) {
          say((e as Error).message);
        }
      };
      list.appendChild(
        h('li', null, `${who?.username ?? u.userId} — ${u.readonly ? 'read-only' : 'full use'} `, remove),
      );
    }
  };
  const username = h('input', { id: 'share-user', required: true, placeholder: 'username' });
  const readonly = h('input', { type: 'checkbox', id: 'share-readonly' });
  const form = h(
    'form',
    { class: 'card inline-form' },
    h('label', { htmlFor: 'share-user' }, 'Share with'),
    username,
    h('label', { htmlFor: 'share-readonly' }, readonly, ' read-only (watch terminals, read files)'),
    h('button', { type: 'submit', class: 'primary' }, 'Share'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      const found = await session.api.get<{ items: User[] }>(
        `/api/v1/users?username=${encodeURIComponent(username.value.trim())}`,
      );
      const user = found.items[0];
      if (!user) return say(`No user named ${username.value.trim()}`);
      const result = await session.api.put<Machine>(`/api/v1/machines/${machine.id}/users/${user.id}`, {
        readonly: readonly.checked,
        permanent: true,
      });
      await render(result.users);
      say(`Shared with ${user.username}`, 'ok');
      username.value = '';
    } catch (err) {
      say((err as Error).message);
    }
  };
  void render(machine.users);
  return h('section', { class: 'sharing' }, h('h2', null, 'Sharing'), status, list, form);
}
