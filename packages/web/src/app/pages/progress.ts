import { h } from '../dom.js';
import type { ProgressEvent } from '../kloud/types.js';

/** A progress bar with the latest message of a job; `update` feeds it events. */
export function progressView(): { element: HTMLElement; update(event: ProgressEvent): void; hide(): void } {
  const bar = h('progress', { max: 100, value: 0 });
  const text = h('span', { class: 'progress-text' });
  const element = h('div', { class: 'progress', hidden: true, attrs: { role: 'status' } }, bar, text);
  return {
    element,
    update(event) {
      element.hidden = false;
      if (event.percentage === null) bar.removeAttribute('value');
      else bar.value = event.percentage;
      text.textContent = event.error ? `${event.message}: ${event.error}` : event.message;
      element.classList.toggle('failed', event.status === 'failed');
    },
    hide() {
      element.hidden = true;
    },
  };
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `state state-${state}` }, state);
}
