import type { LabIcon } from '@jupyterlab/ui-components';

/** Create an element with a class, attributes and children (no framework: rows are hot). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; text?: string; attrs?: Record<string, string>; title?: string } = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) {
    el.className = props.class;
  }
  if (props.text !== undefined) {
    el.textContent = props.text;
  }
  if (props.title) {
    el.title = props.title;
  }
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    el.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      el.append(child);
    }
  }
  return el;
}

/** A small toolbar-style button with an icon and an accessible label. */
export function iconButton(icon: LabIcon, label: string, action: string, extraClass = ''): HTMLButtonElement {
  const button = h('button', {
    class: `jp-FusionButton jp-mod-minimal ${extraClass}`.trim(),
    title: label,
    attrs: { type: 'button', 'data-action': action, 'aria-label': label }
  });
  button.append(icon.element({ tag: 'span', className: 'jp-FusionButton-icon', elementSize: 'normal' }));
  return button;
}

export function textButton(text: string, action: string, extraClass = '', title?: string): HTMLButtonElement {
  return h('button', {
    class: `jp-FusionTextButton ${extraClass}`.trim(),
    text,
    title: title ?? text,
    attrs: { type: 'button', 'data-action': action }
  });
}

/** A function that runs ``fn`` at the next animation frame, once however often it is called before then. */
export function frameCoalesced(fn: () => void): () => void {
  let queued = false;
  return () => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        fn();
      });
    }
  };
}

/** Set text only when it changed (avoids needless layout work in hot paths). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}

/** Save a Blob as a file through a temporary object URL. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { attrs: { href: url, download: filename } });
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
