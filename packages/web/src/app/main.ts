/**
 * The UI's entry: log in (or reuse the saved token), then route on the URL hash:
 *   #/machines                    machines with live state and build progress
 *   #/machines/<id>[/terminal|files|sharing]
 *   #/templates   #/credentials
 */
import { AppCode } from '@kk/protocol';
import { h } from './dom.js';
import { ApiError } from './kloud/api.js';
import { credentialsPage } from './pages/credentials.js';
import { loginPage } from './pages/login.js';
import { machinePage } from './pages/machine.js';
import { machinesPage } from './pages/machines.js';
import { templatesPage } from './pages/templates.js';
import { logIn, logOut, type Session, savedToken } from './session.js';

const root = document.getElementById('app')!;
let session: Session | undefined;
let disposeCurrent: (() => void) | undefined;

function nav(current: string): HTMLElement {
  const link = (href: string, label: string) =>
    h('a', { href, attrs: current.startsWith(href) ? { 'aria-current': 'page' } : {} }, label);
  const out = h('button', { type: 'button', class: 'link' }, 'Log out');
  out.onclick = () => {
    logOut(session);
    session = undefined;
    render();
  };
  return h(
    'header',
    { class: 'topbar' },
    h('a', { href: '#/machines', class: 'brand' }, 'Kloud'),
    h(
      'nav',
      { attrs: { 'aria-label': 'Main' } },
      link('#/machines', 'Machines'),
      link('#/templates', 'Templates'),
      link('#/credentials', 'Credentials'),
    ),
    h('span', { class: 'who muted' }, session?.user.username ?? ''),
    out,
  );
}

/** The token stopped working (revoked, expired): back to the login form, saying why. */
function sessionEnded(): void {
  if (!session) return;
  logOut(session);
  session = undefined;
  render('Your session ended: the API token was revoked or has expired. Log in again.');
}

function watchSession(s: Session): void {
  s.api.onUnauthenticated = sessionEnded;
  s.events.client.onState((_state, error) => {
    if (error?.code === AppCode.Unauthenticated) sessionEnded();
  });
}

function render(why?: string): void {
  disposeCurrent?.();
  disposeCurrent = undefined;
  if (!session) {
    root.replaceChildren(
      loginPage(why, (s) => {
        session = s;
        watchSession(s);
        // A new hash renders through hashchange; rendering here too would build the page twice.
        if (!location.hash || location.hash === '#/') location.hash = '#/machines';
        else render();
      }),
    );
    return;
  }
  const hash = location.hash || '#/machines';
  const parts = hash.replace(/^#\/?/, '').split('/');
  let page: HTMLElement;
  if (parts[0] === 'machines' && parts[1]) {
    const p = machinePage(session, decodeURIComponent(parts[1]), parts[2] ?? 'terminal');
    page = p.element;
    disposeCurrent = p.dispose;
  } else if (parts[0] === 'templates') page = templatesPage(session);
  else if (parts[0] === 'credentials') page = credentialsPage(session);
  else {
    const p = machinesPage(session);
    page = p.element;
    disposeCurrent = p.dispose;
  }
  root.replaceChildren(nav(hash), page);
}

async function start(): Promise<void> {
  const token = savedToken();
  if (token) {
    try {
      session = await logIn(token);
      watchSession(session);
    } catch (error) {
      // A revoked or expired token: log in again. Anything else (Kloud down) keeps the token.
      if (error instanceof ApiError && error.status === 401) logOut(undefined);
    }
  }
  window.addEventListener('hashchange', () => render());
  render();
}

void start();
