/** Stack templates: list, add (YAML or JSON), and delete. Building from one is on the Machines page. */
import { h, statusLine } from '../dom.js';
import type { Template } from '../kloud/types.js';
import type { Session } from '../session.js';

export function templatesPage(session: Session): HTMLElement {
  const list = h('ul', { class: 'plain-list' });
  const { element: status, say } = statusLine();
  const load = async () => {
    try {
      const templates = await session.api.list<Template>('/api/v1/stack-templates');
      list.replaceChildren(...templates.map((t) => item(t)));
      if (templates.length === 0) list.appendChild(h('li', { class: 'muted' }, 'No templates yet.'));
    } catch (e) {
      say((e as Error).message);
    }
  };
  const item = (t: Template) => {
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
    remove.onclick = async () => {
      if (!confirm(`Delete template ${t.title}?`)) return;
      try {
        await session.api.delete(`/api/v1/stack-templates/${t.id}`, { 'if-match': `"v${t.version}"` });
        await load();
      } catch (e) {
        say((e as Error).message);
      }
    };
    return h(
      'li',
      null,
      h(
        'details',
        null,
        h('summary', null, `${t.title} `, h('span', { class: 'muted' }, t.accessLevel)),
        h('pre', { class: 'code' }, t.content),
      ),
      t.ownerId === session.user.id ? remove : '',
    );
  };
  const title = h('input', { id: 'tpl-new-title', required: true });
  const content = h('textarea', {
    id: 'tpl-new-content',
    required: true,
    rows: 10,
    spellcheck: false,
    placeholder: 'machines:\n  dev:\n    provider: local',
  });
  const access = h(
    'select',
    { id: 'tpl-new-access' },
    h('option', { value: 'private' }, 'private'),
    h('option', { value: 'group' }, 'group'),
    h('option', { value: 'public' }, 'public'),
  );
  const form = h(
    'form',
    { class: 'card' },
    h('h2', null, 'New template'),
    h('label', { htmlFor: 'tpl-new-title' }, 'Title'),
    title,
    h('label', { htmlFor: 'tpl-new-content' }, 'Template (YAML or JSON)'),
    content,
    h('label', { htmlFor: 'tpl-new-access' }, 'Who may use it'),
    access,
    h('button', { type: 'submit', class: 'primary' }, 'Add template'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await session.api.post('/api/v1/stack-templates', {
        title: title.value.trim(),
        content: content.value,
        accessLevel: access.value,
      });
      title.value = '';
      content.value = '';
      say('Template added', 'ok');
      await load();
    } catch (err) {
      say((err as Error).message);
    }
  };
  void load();
  return h('main', { class: 'page' }, h('h1', null, 'Templates'), status, list, form);
}
