import { h, setText } from './dom';

/** The template choice that switches a form to a pasted or uploaded INI file. */
export const OWN_INI = '(own-ini)'; // never a template name: those are [A-Za-z0-9_.-]

/** Files bigger than this are not read into a form: the server refuses them anyway. */
const MAX_INI_BYTES = 64 * 1024;

/**
 * A researcher's own FUSION INI file as a run's config: pasted into a text area, or
 * uploaded (read in the browser into the same text area, so it can still be edited).
 * Used by the sidebar's New-run form and the Launcher widget.
 */
export class IniSource {
  readonly node: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly upload: HTMLInputElement;
  private readonly note: HTMLElement;

  constructor(private readonly onChange: () => void, classPrefix: string) {
    this.textarea = h('textarea', {
      class: `${classPrefix}-ini`,
      attrs: { rows: '14', spellcheck: 'false', 'aria-label': 'INI config', placeholder: '[general_settings]\nerlang_start = 300\n…' }
    });
    this.upload = h('input', { attrs: { type: 'file', accept: '.ini,text/plain', 'aria-label': 'Upload an INI file' } });
    this.note = h('span', { class: `${classPrefix}-ini-note` });
    this.node = h(
      'div',
      { class: `${classPrefix}-ini-source` },
      h('label', { class: `${classPrefix}-ini-upload` }, h('span', { text: 'Upload .ini ' }), this.upload),
      this.note,
      this.textarea
    );
    this.textarea.addEventListener('input', () => this.onChange());
    this.upload.addEventListener('change', () => void this.read());
  }

  /** The INI text as it stands. */
  get text(): string {
    return this.textarea.value;
  }

  set text(value: string) {
    this.textarea.value = value;
  }

  private async read(): Promise<void> {
    const file = this.upload.files?.[0];
    if (!file) {
      return;
    }
    if (file.size > MAX_INI_BYTES) {
      setText(this.note, `${file.name} is ${file.size} bytes; at most ${MAX_INI_BYTES}`);
      return;
    }
    this.textarea.value = await file.text();
    setText(this.note, `from ${file.name}`);
    this.onChange();
  }
}
