import { h, setText } from '../../lab/dom';

/**
 * Small DOM pieces shared by the widget views. ``h``/``setText``/``saveBlob`` come
 * from src/lab/dom.ts, which is framework-free at run time (its only JupyterLab
 * import is a type); the widget bundles are checked to contain no JupyterLab code.
 */
export { h, saveBlob, setText } from '../../lab/dom';

export function button(text: string, action: string, title?: string, extraClass = ''): HTMLButtonElement {
  return h('button', {
    class: `fj-button ${extraClass}`.trim(),
    text,
    title: title ?? text,
    attrs: { type: 'button', 'data-action': action }
  });
}

/** A horizontal progress bar (role progressbar, aria-valuenow = percent). */
export class Bar {
  readonly node: HTMLElement;
  private readonly fill: HTMLElement;
  private value = -1;

  constructor(label: string, extraClass = '') {
    this.fill = h('div', { class: 'fj-bar-fill' });
    this.node = h('div', {
      class: `fj-bar ${extraClass}`.trim(),
      attrs: { role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }
    }, this.fill);
  }

  set(percent: number): void {
    const v = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
    if (v === this.value) {
      return;
    }
    this.value = v;
    this.fill.style.width = `${v}%`;
    this.node.setAttribute('aria-valuenow', String(Math.round(v * 10) / 10));
  }
}

/** A one-line message area (errors in red, notes grey). */
export class Notice {
  readonly node = h('div', { class: 'fj-notice' });

  show(text: string, kind: 'error' | 'info' | 'ok' = 'error'): void {
    this.node.dataset.kind = kind;
    setText(this.node, text);
    this.node.hidden = !text;
  }

  clear(): void {
    this.show('');
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Which way the data comes, shown small under each widget. */
export function transportNote(kind: 'direct' | 'relay', reason: string): HTMLElement {
  const text = kind === 'direct' ? 'live from the Jupyter server' : 'live through the kernel';
  return h('div', { class: 'fj-transport', text, title: reason || text, attrs: { 'data-transport': kind } });
}
