/** A small element builder: `h('button', { class: 'primary', onclick }, 'Save')`. */
type Child = Node | string | null | undefined | false;
type Props<K extends keyof HTMLElementTagNameMap> = Partial<Omit<HTMLElementTagNameMap[K], 'style'>> & {
  class?: string;
  style?: string;
  dataset?: Record<string, string>;
  attrs?: Record<string, string>;
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props<K> | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    const { class: className, style, dataset, attrs, ...rest } = props;
    if (className) el.className = className;
    if (style) el.setAttribute('style', style);
    if (dataset) Object.assign(el.dataset, dataset);
    if (attrs) for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    Object.assign(el, rest);
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A message line that says what happened; `kind` colours it. */
export function notice(text: string, kind: 'error' | 'info' | 'ok' = 'info'): HTMLElement {
  return h('p', { class: `notice ${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' } }, text);
}

/** A live status line: `say` replaces what it shows. */
export function statusLine(): {
  element: HTMLElement;
  say(text: string, kind?: 'error' | 'info' | 'ok'): void;
} {
  const element = h('div', { class: 'status-line', attrs: { 'aria-live': 'polite' } });
  return {
    element,
    say(text, kind = 'error') {
      clear(element);
      element.appendChild(notice(text, kind));
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
