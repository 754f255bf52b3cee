/**
 * A lazy file tree of the machine: a directory is listed (in pages) when first expanded and
 * watched while it is open, so files made elsewhere (a terminal, another user) appear and
 * disappear live. Watches belong to the connection: after a reconnect every open directory is
 * listed and watched again. Keyboard: arrows move and open/close, Enter opens a file.
 */
import type { RpcClient } from '@kk/protocol';
import type { FsEntry, FsWatchEvent } from '@kk/protocol/catalogue/fs.js';
import { h } from '../dom.js';

interface TreeNode {
  entry: FsEntry;
  item: HTMLLIElement;
  label: HTMLElement;
  group?: HTMLUListElement;
  children?: Map<string, TreeNode>;
  expanded: boolean;
  watch?: { cancel(): void; watchId: number };
  depth: number;
}

export class FileTree {
  readonly element: HTMLUListElement;
  root: TreeNode | undefined;
  selected: TreeNode | undefined;
  onOpenFile: (entry: FsEntry) => void = () => {};
  onChange: (event: FsWatchEvent) => void = () => {};
  onError: (error: unknown) => void = () => {};
  private readonly nodes = new WeakMap<HTMLElement, TreeNode>();

  constructor(private readonly client: RpcClient) {
    this.element = h('ul', { class: 'tree', attrs: { role: 'tree', 'aria-label': 'Files' } });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    // Roving focus: whatever item gets the focus (Tab, a click, a screen reader) is the selection.
    this.element.addEventListener('focusin', (e) => {
      const node = this.nodes.get(e.target as HTMLElement);
      if (node && node !== this.selected) this.focusNode(node);
    });
    client.onConnect(() => {
      // Watches died with the old connection: list and watch every open directory again.
      if (this.root) for (const node of this.openDirectories()) void this.load(node);
    });
  }

  async start(path = '.'): Promise<void> {
    const info = await this.client.call('fs.getInfo', { path });
    const item = h('li');
    this.root = { entry: info, item, label: h('span'), expanded: false, depth: 0 };
    this.root.group = this.element;
    await this.expand(this.root);
  }

  /** The directory new things go into: the selected directory, or the selected file's parent. */
  targetDirectory(): string {
    const node = this.selected;
    if (!node) return this.root!.entry.path;
    if (node.entry.type === 'directory') return node.entry.path;
    return parentOf(node.entry.path);
  }

  async refresh(): Promise<void> {
    for (const node of this.openDirectories()) await this.load(node);
  }

  /**
   * Lists one open directory again. Called after the UI's own writes: an atomic write goes through
   * a temporary file, and the watch can report that file's arrival but miss its rename away.
   */
  async refreshDirectory(path: string): Promise<void> {
    const node = this.openDirectories().find((n) => n.entry.path === path);
    if (node) await this.load(node);
  }

  private openDirectories(): TreeNode[] {
    const out: TreeNode[] = [];
    const walk = (node: TreeNode) => {
      if (!node.expanded) return;
      out.push(node);
      for (const child of node.children?.values() ?? []) walk(child);
    };
    if (this.root) walk(this.root);
    return out;
  }

  private async expand(node: TreeNode): Promise<void> {
    node.expanded = true;
    if (!node.group) {
      node.group = h('ul', { attrs: { role: 'group' } });
      node.item.appendChild(node.group);
    }
    node.item.setAttribute('aria-expanded', 'true');
    await this.load(node);
  }

  private collapse(node: TreeNode): void {
    node.expanded = false;
    node.item.setAttribute('aria-expanded', 'false');
    this.stopWatch(node);
    node.group?.remove();
    node.group = undefined;
    node.children = undefined;
  }

  private stopWatch(node: TreeNode): void {
    if (!node.watch) return;
    node.watch.cancel();
    void this.client.call('fs.unwatch', { watchId: node.watch.watchId }).catch(() => {});
    node.watch = undefined;
    for (const child of node.children?.values() ?? []) if (child.expanded) this.stopWatch(child);
  }

  private async load(node: TreeNode): Promise<void> {
    this.element.setAttribute('aria-busy', 'true');
    try {
      if (node.watch) this.stopWatch(node);
      const entries: FsEntry[] = [];
      let cursor: string | undefined;
      let first = true;
      do {
        const page = await this.client.call('fs.readDirectory', {
          path: node.entry.path,
          cursor,
          watch: first,
        });
        if (first && page.watchId !== undefined) {
          const reader = this.client.openReader(page.watchId);
          node.watch = { cancel: () => reader.cancel('closed'), watchId: page.watchId };
          reader.onData((event) => this.applyEvent(node, event as FsWatchEvent));
          reader.done.catch(() => {});
        }
        first = false;
        entries.push(...page.entries);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      this.fill(node, entries);
    } catch (error) {
      this.onError(error);
    } finally {
      this.element.setAttribute('aria-busy', 'false');
    }
  }

  private fill(node: TreeNode, entries: FsEntry[]): void {
    const previous = node.children ?? new Map<string, TreeNode>();
    node.children = new Map();
    const group = node.group!;
    group.replaceChildren();
    for (const entry of entries.sort(byTypeThenName)) {
      const old = previous.get(entry.name);
      const child = old ?? this.makeNode(entry, node.depth + 1);
      child.entry = entry;
      node.children.set(entry.name, child);
      group.appendChild(child.item);
    }
    if (!this.selected && node === this.root) this.focusNode([...node.children.values()][0]);
  }

  private makeNode(entry: FsEntry, depth: number): TreeNode {
    const isDir = entry.type === 'directory' || entry.targetType === 'directory';
    // The twisty is drawn by CSS inside an aria-hidden span, so the item's accessible name is its name.
    const twisty = h('span', { class: 'twisty', attrs: { 'aria-hidden': 'true' } });
    const label = h('span', { class: `tree-label ${isDir ? 'dir' : 'file'}` }, twisty, entry.name);
    const item = h('li', {
      attrs: { role: 'treeitem', 'aria-selected': 'false', ...(isDir ? { 'aria-expanded': 'false' } : {}) },
      tabIndex: -1,
      dataset: { path: entry.path },
    });
    label.style.paddingLeft = `${(depth - 1) * 14 + 6}px`;
    item.appendChild(label);
    const node: TreeNode = { entry, item, label, expanded: false, depth };
    this.nodes.set(item, node);
    label.onclick = (e) => {
      e.stopPropagation();
      this.focusNode(node);
      void this.activate(node);
    };
    return node;
  }

  private async activate(node: TreeNode): Promise<void> {
    const isDir = node.entry.type === 'directory' || node.entry.targetType === 'directory';
    if (isDir) {
      if (node.expanded) this.collapse(node);
      else await this.expand(node);
    } else this.onOpenFile(node.entry);
  }

  private focusNode(node: TreeNode | undefined): void {
    if (!node) return;
    if (this.selected) {
      this.selected.item.tabIndex = -1;
      this.selected.item.setAttribute('aria-selected', 'false');
    }
    this.selected = node;
    node.item.tabIndex = 0;
    node.item.setAttribute('aria-selected', 'true');
    if (this.element.contains(document.activeElement)) node.item.focus();
  }

  private applyEvent(dir: TreeNode, event: FsWatchEvent): void {
    if (!dir.children || !dir.group) return;
    if (event.type === 'removed') {
      const gone = dir.children.get(event.name);
      if (gone) {
        this.stopWatch(gone);
        gone.item.remove();
        dir.children.delete(event.name);
        if (this.selected === gone) this.selected = undefined;
      }
    } else if (event.entry) {
      const existing = dir.children.get(event.name);
      if (existing) existing.entry = event.entry;
      else {
        const node = this.makeNode(event.entry, dir.depth + 1);
        dir.children.set(event.name, node);
        const sorted = [...dir.children.values()].sort((a, b) => byTypeThenName(a.entry, b.entry));
        const next = sorted[sorted.indexOf(node) + 1];
        dir.group.insertBefore(node.item, next?.item ?? null);
      }
    }
    this.onChange(event);
  }

  private visibleNodes(): TreeNode[] {
    const out: TreeNode[] = [];
    const walk = (node: TreeNode) => {
      for (const child of node.children?.values() ?? []) {
        out.push(child);
        if (child.expanded) walk(child);
      }
    };
    if (this.root) walk(this.root);
    return out;
  }

  private onKey(e: KeyboardEvent): void {
    const nodes = this.visibleNodes();
    const at = this.selected ? nodes.indexOf(this.selected) : -1;
    const node = this.selected;
    const move = (i: number) => {
      const target = nodes[Math.max(0, Math.min(nodes.length - 1, i))];
      this.focusNode(target);
      target?.item.focus();
    };
    switch (e.key) {
      case 'ArrowDown':
        move(at + 1);
        break;
      case 'ArrowUp':
        move(at - 1);
        break;
      case 'ArrowRight':
        if (node && !node.expanded && node.entry.type === 'directory') void this.expand(node);
        break;
      case 'ArrowLeft':
        if (node?.expanded) this.collapse(node);
        break;
      case 'Enter':
        if (node) void this.activate(node);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}

function byTypeThenName(a: FsEntry, b: FsEntry): number {
  const ad = a.type === 'directory' ? 0 : 1;
  const bd = b.type === 'directory' ? 0 : 1;
  return ad - bd || a.name.localeCompare(b.name);
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
