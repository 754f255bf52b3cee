/**
 * A text editor for one file. It remembers the content hash it read, and saves with `ifMatch`:
 * when the file changed on the machine since (someone else saved, a program wrote it), Klient
 * refuses the save and the editor says so, offering to reload (dropping these edits) or to
 * overwrite (knowingly). A change seen by the directory watch is announced before saving.
 */
import type { RpcClient } from '@kk/protocol';
import { AppCode, ErrorCode, isRpcError } from '@kk/protocol';
import { clear, formatBytes, h, notice } from '../dom.js';

/** Files above this are offered for download instead of editing in the page. */
const MAX_EDIT_BYTES = 4 * 1024 * 1024;

export class Editor {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly text: HTMLTextAreaElement;
  private readonly status: HTMLElement;
  private showsConflict = false;
  private readonly saveButton: HTMLButtonElement;
  path: string | undefined;
  private hash: string | undefined;
  private dirty = false;
  /** After a successful save. */
  onSaved: (path: string) => void = () => {};

  constructor(
    private readonly client: RpcClient,
    private readonly readOnly: boolean,
  ) {
    this.title = h('h3', { class: 'editor-title' }, 'No file open');
    this.text = h('textarea', {
      class: 'editor-text',
      spellcheck: false,
      disabled: true,
      attrs: { 'aria-label': 'File content' },
    });
    this.text.addEventListener('input', () => {
      this.dirty = true;
      this.saveButton.disabled = this.readOnly;
    });
    this.text.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 's') {
        e.preventDefault();
        void this.save();
      }
    });
    this.saveButton = h(
      'button',
      { type: 'button', class: 'primary', disabled: true, onclick: () => void this.save() },
      'Save',
    );
    this.status = h('div', { class: 'editor-status', attrs: { 'aria-live': 'polite' } });
    this.element = h(
      'section',
      { class: 'editor' },
      h('div', { class: 'toolbar' }, this.title, readOnly ? null : this.saveButton),
      this.status,
      this.text,
    );
  }

  async open(path: string): Promise<void> {
    if (this.dirty && this.path !== path && !confirm(`Discard your unsaved changes to ${this.path}?`)) return;
    this.clearStatus();
    try {
      const info = await this.client.call('fs.getInfo', { path });
      if (info.size > MAX_EDIT_BYTES) {
        this.say(
          `${path} is ${formatBytes(info.size)}: too large to edit here; download it instead.`,
          'info',
        );
        return;
      }
      const file = await this.client.call('fs.readFile', { path });
      // Bytes that are not UTF-8 text would be changed by a save from a text box: refuse to edit.
      const content = file.content ?? '';
      if (content.includes('\u0000') || content.includes('\uFFFD')) {
        this.say(`${file.path} is not UTF-8 text; download it instead.`, 'info');
        return;
      }
      this.path = file.path;
      this.hash = file.hash;
      this.text.value = file.content ?? '';
      this.text.disabled = false;
      this.text.readOnly = this.readOnly;
      this.dirty = false;
      this.saveButton.disabled = true;
      this.title.textContent = file.path;
    } catch (error) {
      // The read's parameters are ours and valid; Klient refuses them only for bytes that are not UTF-8.
      if (isRpcError(error) && error.code === ErrorCode.InvalidParams)
        this.say(`${path} is not UTF-8 text; download it instead.`, 'info');
      else this.say((error as Error).message, 'error');
    }
  }

  /** The directory watch saw this file change. */
  changedOnMachine(path: string, hashNow?: string): void {
    // A refused save already says so, and its Reload and Overwrite buttons must stay.
    if (path !== this.path || (hashNow && hashNow === this.hash) || this.showsConflict) return;
    this.say(
      'This file changed on the machine since you opened it. Saving will be refused unless you overwrite.',
      'info',
    );
  }

  /** The file was removed or renamed on the machine. */
  gone(path: string): void {
    if (path === this.path) this.say('This file was removed or renamed on the machine.', 'info');
  }

  async save(overwrite = false): Promise<void> {
    if (!this.path || this.readOnly) return;
    const content = this.text.value;
    try {
      let ifMatch = this.hash;
      if (overwrite) ifMatch = (await this.client.call('fs.getInfo', { path: this.path, hash: true })).hash;
      const written = await this.client.call('fs.writeFile', { path: this.path, content, ifMatch });
      this.hash = written.hash;
      this.dirty = false;
      this.saveButton.disabled = true;
      this.say(`Saved ${formatBytes(written.size)}.`, 'ok');
      this.onSaved(written.path);
    } catch (error) {
      if (isRpcError(error) && error.code === AppCode.Conflict) return this.conflict();
      this.say((error as Error).message, 'error');
    }
  }

  private conflict(): void {
    this.clearStatus();
    this.showsConflict = true;
    this.status.append(
      notice(
        'Not saved: the file changed on the machine after you opened it. Your edits are still here.',
        'error',
      ),
      h('button', { type: 'button', onclick: () => void this.open(this.path!) }, 'Reload (drop my edits)'),
      h(
        'button',
        { type: 'button', class: 'danger', onclick: () => void this.save(true) },
        'Overwrite with my version',
      ),
    );
  }

  private say(text: string, kind: 'error' | 'info' | 'ok'): void {
    this.clearStatus();
    this.status.appendChild(notice(text, kind));
  }

  private clearStatus(): void {
    clear(this.status);
    this.showsConflict = false;
  }
}
