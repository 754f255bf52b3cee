import { h, notice } from '../dom.js';
import { ApiError } from '../kloud/api.js';
import { logIn, type Session } from '../session.js';

/** Log in with an API token (from `kloud` bootstrap or Settings → tokens). */
export function loginPage(why: string | undefined, onLoggedIn: (session: Session) => void): HTMLElement {
  const input = h('input', {
    type: 'password',
    id: 'token',
    autocomplete: 'current-password',
    required: true,
    placeholder: 'kk_…',
  });
  const message = h('div', { attrs: { 'aria-live': 'polite' } }, why ? notice(why, 'info') : null);
  const form = h(
    'form',
    { class: 'login card' },
    h('h1', null, 'Kloud'),
    h('label', { htmlFor: 'token' }, 'API token'),
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
    message,
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    message.replaceChildren();
    try {
      onLoggedIn(await logIn(input.value));
    } catch (error) {
      const text =
        error instanceof ApiError && error.status === 401
          ? 'That token was not accepted: it may be mistyped, expired or revoked.'
          : (error as Error).message;
      message.appendChild(notice(text, 'error'));
    }
  };
  queueMicrotask(() => input.focus());
  return h('main', { class: 'login-page' }, form);
}
