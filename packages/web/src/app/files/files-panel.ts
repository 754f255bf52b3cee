/**
 * The Files tab: the tree on the left, the editor on the right, and the actions on what is
 * selected: new file, new folder, upload, download, rename, delete.
 */
import type { RpcClient } from '@kk/protocol';
import { clear, formatBytes, h, notice } from '../dom.js';
import { Editor } from './editor.js';
import { FileTree, parentOf } from './file-tree.js';
import { downloadFile, saveBlob, uploadFile } from './transfer.js';

export class FilesPanel {
  readonly element: HTMLElement;
  private readonly tree: FileTree;
  private readonly editor: Editor;
  private readonly status: HTMLElement;
  private readonly upload: HTMLInputElement;

  constructor(
    private readonly client: RpcClient,
    readOnly: boolean,
  ) {
    this.tree = new FileTree(client);
    this.editor = new Editor(client, readOnly);
    this.status = h('div', { class: 'files-status', attrs: { 'aria-live': 'polite' } });
    this.upload = h('input', { type: 'file', multiple: true, hidden: true });
    this.upload.onchange = () => void this.uploadChosen();
    this.tree.onOpenFile = (entry) => void this.editor.open(entry.path);
    this.editor.onSaved = (path) => void this.tree.refreshDirectory(parentOf(path));
    this.tree.onError = (e) => this.say((e as Error).message, 'error');
    this.tree.onChange = (event) => {
      if (event.type === 'removed') this.editor.gone(event.path);
      else if (event.type === 'changed') this.editor.changedOnMachine(event.path);
    };
    const button = (label: string, action: () => Promise<void>, cls = '') =>
      h(
        'button',
        {
          type: 'button',
          class: cls,
          onclick: () => void action().catch((e) => this.say((e as Error).message, 'error')),
        },
        label,
      );
    const actions = readOnly
      ? [button('Download', () => this.download()), button('Refresh', () => this.tree.refresh())]
      : [
          button('New file', () => this.create('file')),
          button('New folder', () => this.create('directory')),
          button('Upload', async () => this.upload.click()),
          button('Download', () => this.download()),
          button('Rename', () => this.rename()),
          button('Delete', () => this.remove(), 'danger'),
          button('Refresh', () => this.tree.refresh()),
        ];
    this.element = h(
      'section',
      { class: 'files' },
      h('div', { class: 'toolbar files-actions' }, ...actions, this.upload),
      this.status,
      h(
        'div',
        { class: 'files-body' },
        h('div', { class: 'tree-pane' }, this.tree.element),
        this.editor.element,
      ),
    );
  }

  start(): Promise<void> {
    return this.tree.start();
  }

  private async create(kind: 'file' | 'directory'): Promise<void> {
    const dir = this.tree.targetDirectory();
    const name = prompt(`New ${kind === 'file' ? 'file' : 'folder'} in ${dir}:`);
    if (!name) return;
    if (name.includes('/')) return this.say('A name cannot contain /', 'error');
    const path = `${dir.replace(/\/$/, '')}/${name}`;
    if (kind === 'directory') await this.client.call('fs.createDirectory', { path, recursive: false });
    else await this.client.call('fs.writeFile', { path, content: '', ifNotExists: true });
    this.say(`Created ${path}`, 'ok');
    await this.tree.refreshDirectory(dir);
    if (kind === 'file') await this.editor.open(path);
  }

  private async rename(): Promise<void> {
    const node = this.tree.selected;
    if (!node) return this.say('Select a file or folder first', 'info');
    const name = prompt(`Rename ${node.entry.name} to:`, node.entry.name);
    if (!name || name === node.entry.name) return;
    if (name.includes('/')) return this.say('A name cannot contain /', 'error');
    const to = `${parentOf(node.entry.path).replace(/\/$/, '')}/${name}`;
    await this.client.call('fs.rename', { from: node.entry.path, to });
    this.say(`Renamed to ${to}`, 'ok');
    await this.tree.refreshDirectory(parentOf(to));
  }

  private async remove(): Promise<void> {
    const node = this.tree.selected;
    if (!node) return this.say('Select a file or folder first', 'info');
    const isDir = node.entry.type === 'directory';
    if (!confirm(`Delete ${node.entry.path}${isDir ? ' and everything in it' : ''}?`)) return;
    await this.client.call('fs.remove', { path: node.entry.path, recursive: isDir });
    this.say(`Deleted ${node.entry.path}`, 'ok');
    await this.tree.refreshDirectory(parentOf(node.entry.path));
  }

  private async download(): Promise<void> {
    const node = this.tree.selected;
    if (node?.entry.type !== 'file') return this.say('Select a file to download', 'info');
    const blob = await downloadFile(this.client, node.entry.path, (got, total) =>
      this.say(`Downloading ${node.entry.name}: ${formatBytes(got)} of ${formatBytes(total)}`, 'info'),
    );
    saveBlob(blob, node.entry.name);
    this.say(`Downloaded ${node.entry.name}`, 'ok');
  }

  private async uploadChosen(): Promise<void> {
    const dir = this.tree.targetDirectory();
    for (const file of Array.from(this.upload.files ?? [])) {
      const path = `${dir.replace(/\/$/, '')}/${file.name}`;
      try {
        await uploadFile(this.client, file, path, (sent) =>
          this.say(`Uploading ${file.name}: ${formatBytes(sent)} of ${formatBytes(file.size)}`, 'info'),
        );
        this.say(`Uploaded ${path}`, 'ok');
      } catch (e) {
        this.say(`${file.name}: ${(e as Error).message}`, 'error');
      }
    }
    this.upload.value = '';
    await this.tree.refreshDirectory(dir);
  }

  private say(text: string, kind: 'error' | 'info' | 'ok'): void {
    clear(this.status);
    this.status.appendChild(notice(text, kind));
  }
}
